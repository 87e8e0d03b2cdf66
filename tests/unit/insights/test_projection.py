"""A ticket's projection is a function of the set of its events: any order, any duplicates, the same rows."""

from __future__ import annotations

import random

import pytest

from services.insights.domain.projection import project_agent, project_ticket
from tests.unit.insights import (
    agent_status,
    agent_updated,
    assigned,
    at,
    escalation_level,
    escalation_opened,
    escalation_resolved,
    rated,
    received,
    reopen,
    reply,
    routed,
    sla_applied,
    sla_breached,
    sla_met,
    sla_paused,
    sla_resumed,
    sla_stopped,
    solve,
    unassigned,
)


def lifecycle() -> list:
    return [
        received(0, priority="high"),
        routed(0.01),
        assigned(0.02),
        sla_applied(0, 1),
        sla_applied(0, 8, metric="resolution"),
        reply(0.5, author="agent", public=False),  # an internal note is no reply
        reply(0.75),
        sla_met(0.75, 0.75),
        reply(1, author="customer"),
        reply(2),
        solve(3),
        unassigned(3),
        sla_met(3, 3, metric="resolution"),
        rated(3.5, "good"),
        reopen(30),
        solve(31),
        escalation_opened(0.4),
        escalation_level(0.6, 1),
    ]


def test_a_lifecycle_gives_the_facts_managers_count() -> None:
    projection = project_ticket("t1", lifecycle())
    facts = projection.facts
    assert (facts.channel, facts.brand, facts.queue, facts.priority, facts.tier) == (
        "email",
        "acme",
        "triage",
        "normal",
        "pro",
    )
    assert (facts.created_at, facts.first_reply_at, facts.public_replies) == (at(0), at(0.75), 2)
    assert facts.replies_before_first_solve == 2
    assert facts.resolutions == (at(3), at(31)) and facts.reopens == (at(30),)
    assert (facts.status, facts.open, facts.csat) == ("solved", False, "good")
    assert (facts.agent_id, facts.last_agent_id, facts.waiting_since) == (None, "a1", None)
    assert (facts.first_reply_business_s, facts.resolution_business_s) == (2700, 3 * 3600)
    assert facts.escalated
    assert [(a.agent_id, a.assigned_at, a.unassigned_at) for a in projection.assignments] == [("a1", at(0.02), at(3))]
    assert [(c.metric, c.state) for c in projection.clocks] == [("first_reply", "met"), ("resolution", "met")]
    assert [(e.level, e.resolved_at) for e in projection.escalations] == [(1, None)]


@pytest.mark.parametrize("seed", range(8))
def test_any_order_and_any_duplicates_give_the_same_projection(seed: int) -> None:
    events = lifecycle()
    shuffled = [*events, *random.Random(seed).sample(events, 5)]
    random.Random(seed).shuffle(shuffled)
    assert project_ticket("t1", shuffled) == project_ticket("t1", events)


def test_events_before_the_ticket_arrives_are_kept_until_it_does() -> None:
    early = project_ticket("t1", [reply(1), solve(2)])
    assert early.facts.created_at is None and early.facts.resolutions == (at(2),)
    assert project_ticket("t1", [reply(1), solve(2), received(0)]).facts.created_at == at(0)


def test_a_handed_back_ticket_waits_since_it_was_handed_back() -> None:
    facts = project_ticket("t1", [received(0), routed(0), assigned(1), unassigned(2, cause="agent_offline")]).facts
    assert (facts.agent_id, facts.waiting_since, facts.queue) == (None, at(2), "triage")


def test_a_pause_clears_the_due_and_a_resume_sets_the_new_one() -> None:
    paused = project_ticket("t1", [received(0), sla_applied(0, 1), sla_paused(0.5)]).clocks[0]
    assert (paused.state, paused.due_at) == ("paused", None)
    resumed = project_ticket("t1", [received(0), sla_applied(0, 1), sla_paused(0.5), sla_resumed(2, 2.5)]).clocks[0]
    assert (resumed.state, resumed.due_at) == ("running", at(2.5))


def test_a_clock_stopped_after_breaching_gives_its_business_time() -> None:
    events = [received(0), sla_applied(0, 1), sla_breached(1), reply(3), sla_stopped(3, 2.5)]
    projection = project_ticket("t1", events)
    assert (projection.clocks[0].state, projection.clocks[0].breached_at) == ("breached", at(1))
    assert projection.facts.first_reply_business_s == int(2.5 * 3600)
    assert project_ticket("t1", events[:3] + events[3:4]).facts.first_reply_business_s is None  # breached, not stopped


def test_a_resolved_escalation_is_no_longer_open() -> None:
    (escalation,) = project_ticket("t1", [escalation_opened(1), escalation_resolved(2)]).escalations
    assert escalation.resolved_at == at(2)


def test_an_agent_is_the_latest_profile_with_capacity_and_every_status_change() -> None:
    events = [
        agent_updated(0, total=3),
        agent_status(1, "offline", "online"),
        agent_updated(2, total=None),
        agent_status(3, "online", "away"),
    ]
    random.Random(1).shuffle(events)
    agent = project_agent("a1", events)
    assert (agent.name, agent.status, agent.status_since, agent.total_capacity) == ("A1", "away", at(3), 3)
    assert agent.statuses == (("online", at(1)), ("away", at(3)))
