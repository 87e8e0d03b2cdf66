"""Assignment decisions, table-driven: requirements and workflow steps, eligibility, strategies,
affinity, overflow, offer expiry, waiting order and skew; plus a hypothesis property test."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.router.domain.assignment import (
    GENERAL_POOL,
    Candidate,
    Requirements,
    choose_agent,
    distribution_skew,
    eligibility,
    offer_expired,
    overflow_action,
    requirements,
    waiting_order,
)
from services.router.domain.model import Agent, AgentLoad, WorkflowTarget

from .factories import NOW, ago, queue, ticket


def agent(agent_id: str, **overrides: Any) -> Agent:
    fields: dict[str, Any] = dict(
        id=agent_id,
        name=agent_id.title(),
        team="billing",
        skills={"billing": 5},
        languages=("en",),
        capacity={"email": 5, "chat": 2},
        total_capacity=8,
        status="online",
        status_changed_at=ago(3600),
    )
    return Agent(**{**fields, **overrides})


def load(total: int = 0, *, email: int | None = None, chat: int = 0, recent: int = 0) -> AgentLoad:
    return AgentLoad(
        by_channel={"email": total if email is None else email, "chat": chat}, total=total, recent_from_queue=recent
    )


def req(**overrides: Any) -> Requirements:
    return Requirements(**{"skills": {}, "team": None, "language": None, "step": None, "explanation": "", **overrides})


# --- requirements without a workflow ----------------------------------------------------------


@pytest.mark.parametrize(
    ("queue_fields", "ticket_fields", "skills", "language", "explained"),
    [
        (dict(), dict(), {}, None, "queue billing: no skills"),
        (dict(required_skills={"billing": 3}), dict(), {"billing": 3}, None, "queue billing: skills billing>=3"),
        (
            dict(required_skills={"billing": 3}),
            dict(required_skills={"billing": 5, "refunds": 2}),
            {"billing": 5, "refunds": 2},
            None,
            "queue billing: skills billing>=5, refunds>=2",
        ),
        (
            dict(required_skills={"billing": 6}),
            dict(required_skills={"billing": 2}),
            {"billing": 6},
            None,
            "queue billing: skills billing>=6",
        ),
        (dict(require_language=True), dict(language="de-AT"), {}, "de-AT", "queue billing: no skills, language de-AT"),
        (dict(require_language=True), dict(language=None), {}, None, "queue billing: no skills"),
        (dict(require_language=False), dict(language="de"), {}, None, "queue billing: no skills"),
        (
            dict(required_skills={"billing": 3}),
            dict(required_skills={"refunds": 2}, skills_widened=True),
            {},
            None,
            "queue billing: no skills; skill requirement widened after the wait limit",
        ),
    ],
)
def test_requirements_merge_the_queues_and_the_tickets_skills(
    queue_fields: dict[str, Any],
    ticket_fields: dict[str, Any],
    skills: dict[str, int],
    language: str | None,
    explained: str,
) -> None:
    got = requirements(queue(**queue_fields), ticket(**ticket_fields), NOW, [])
    assert got == Requirements(skills, None, language, None, explained)


# --- workflow steps by waiting time -----------------------------------------------------------

SPECIALISTS = WorkflowTarget("billing specialists", team="billing-l2", skills={"billing": 8}, timeout_s=300)
TIER_2 = WorkflowTarget("tier-2", team="tier-2", skills={"billing": 5}, timeout_s=600)
L2_ALICE = agent("alice", team="billing-l2", skills={"billing": 9})
TIER2_TOM = agent("tom", team="tier-2", skills={"billing": 6})


@pytest.mark.parametrize(
    ("waited", "step", "team", "skills"),
    [
        (0, "billing specialists", "billing-l2", {"billing": 8, "refunds": 2}),
        (299, "billing specialists", "billing-l2", {"billing": 8, "refunds": 2}),
        (300, "tier-2", "tier-2", {"billing": 5, "refunds": 2}),
        (899, "tier-2", "tier-2", {"billing": 5, "refunds": 2}),
        (900, GENERAL_POOL, None, {"billing": 1, "refunds": 2}),
        (86_400, GENERAL_POOL, None, {"billing": 1, "refunds": 2}),
    ],
)
def test_a_ticket_walks_the_workflow_by_how_long_it_has_waited(
    waited: int, step: str, team: str | None, skills: dict[str, int]
) -> None:
    q = queue(required_skills={"billing": 1}, workflow=(SPECIALISTS, TIER_2))
    got = requirements(q, ticket(waiting_since=ago(waited), required_skills={"refunds": 2}), NOW, [L2_ALICE, TIER2_TOM])
    assert (got.step, got.team, dict(got.skills)) == (step, team, skills)


@pytest.mark.parametrize(
    ("waited", "explained"),
    [
        (120, "step billing specialists: waited 120 s of 300 s: team billing-l2, skills billing>=8"),
        (400, "step billing specialists timed out; step tier-2: waited 400 s of 900 s: team tier-2, skills billing>=5"),
        (
            1000,
            "step billing specialists timed out; step tier-2 timed out; "
            "general pool: waited 1000 s, past every step of the workflow: skills billing>=1",
        ),
    ],
)
def test_the_explanation_says_which_step_and_why(waited: int, explained: str) -> None:
    q = queue(required_skills={"billing": 1}, workflow=(SPECIALISTS, TIER_2))
    assert requirements(q, ticket(waiting_since=ago(waited)), NOW, [L2_ALICE, TIER2_TOM]).explanation == explained


@pytest.mark.parametrize("waited", [0, 300, 10_000, 10**7])
def test_a_step_without_timeout_lasts_for_good(waited: int) -> None:
    q = queue(workflow=(WorkflowTarget("en pool", skills={"english": 1}),))
    got = requirements(q, ticket(waiting_since=ago(waited)), NOW, [])
    assert (got.step, dict(got.skills)) == ("en pool", {"english": 1})
    assert "no timeout" in got.explanation


@pytest.mark.parametrize(
    ("online", "waited", "step", "skipped"),
    [
        ([L2_ALICE, TIER2_TOM], 0, "billing specialists", False),
        # nobody of the team online: skipped, and it takes no time, so tier-2 starts right away
        ([TIER2_TOM], 0, "tier-2", True),
        ([TIER2_TOM], 599, "tier-2", True),
        ([TIER2_TOM], 600, GENERAL_POOL, True),
        # in the team but not skilled enough counts as unavailable
        ([replace(L2_ALICE, skills={"billing": 7}), TIER2_TOM], 0, "tier-2", True),
        # full but fitting still counts: capacity is ignored for skipping
        ([replace(L2_ALICE, total_capacity=0, capacity={}), TIER2_TOM], 0, "billing specialists", False),
        # tier-2 is not skippable: with nobody online at all it still holds
        ([], 0, "tier-2", True),
    ],
)
def test_a_step_nobody_can_serve_is_skipped_when_marked(
    online: list[Agent], waited: int, step: str, skipped: bool
) -> None:
    q = queue(workflow=(replace(SPECIALISTS, skip_if_unavailable=True), TIER_2))
    got = requirements(q, ticket(waiting_since=ago(waited)), NOW, online)
    assert got.step == step
    assert ("skipped step billing specialists (no online agent fits it)" in got.explanation) is skipped


def test_when_every_step_is_skipped_the_general_pool_applies_at_once() -> None:
    q = queue(
        required_skills={"billing": 2},
        workflow=(replace(SPECIALISTS, skip_if_unavailable=True), replace(TIER_2, skip_if_unavailable=True)),
    )
    got = requirements(q, ticket(waiting_since=ago(0)), NOW, [agent("bob", team="billing-l1")])
    assert (got.step, got.team, dict(got.skills)) == (GENERAL_POOL, None, {"billing": 2})
    assert got.explanation == (
        "skipped step billing specialists (no online agent fits it); "
        "skipped step tier-2 (no online agent fits it); "
        "general pool: waited 0 s, past every step of the workflow: skills billing>=2"
    )


def test_widening_drops_a_steps_skills_but_keeps_its_team() -> None:
    q = queue(workflow=(SPECIALISTS,))
    got = requirements(
        q, ticket(waiting_since=ago(10), skills_widened=True, required_skills={"refunds": 4}), NOW, [L2_ALICE]
    )
    assert (got.step, got.team, dict(got.skills)) == ("billing specialists", "billing-l2", {})
    assert got.explanation.endswith("skill requirement widened after the wait limit")


def test_specialists_first_for_five_minutes_then_the_general_pool() -> None:
    q = queue(required_skills={"billing": 1}, workflow=(SPECIALISTS,))
    alice = replace(L2_ALICE, status="away")  # the only specialist is away, the step is not skippable
    bob = agent("bob", team="billing-l1", skills={"billing": 3})
    agents = [(alice, load()), (bob, load())]
    early = choose_agent(ticket(waiting_since=ago(120)), q, agents, NOW, last_round_robin_agent=None)
    assert early.agent_id is None
    assert early.requirements.step == "billing specialists"
    assert (
        early.reason
        == "1 online agent, none eligible: bob: not in team billing-l2 (team billing-l1), skill billing 3 < 8"
    )
    late = choose_agent(ticket(waiting_since=ago(301)), q, agents, NOW, last_round_robin_agent=None)
    assert (late.agent_id, late.requirements.step) == ("bob", GENERAL_POOL)


# --- eligibility ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_fields", "agent_load", "requirement", "ticket_fields", "queue_fields", "reasons"),
    [
        (dict(), load(), req(), dict(), dict(), ()),
        (dict(status="away"), load(), req(), dict(), dict(), ("status away",)),
        (dict(status="offline"), load(), req(), dict(), dict(), ("status offline",)),
        (
            dict(team="billing-l1"),
            load(),
            req(team="billing-l2"),
            dict(),
            dict(),
            ("not in team billing-l2 (team billing-l1)",),
        ),
        (dict(team=None), load(), req(team="tier-2"), dict(), dict(), ("not in team tier-2 (team none)",)),
        (dict(team="Tier-2"), load(), req(team="tier-2"), dict(), dict(), ()),
        (dict(skills={"billing": 1}), load(), req(skills={"billing": 3}), dict(), dict(), ("skill billing 1 < 3",)),
        (dict(skills={"billing": 3}), load(), req(skills={"billing": 3}), dict(), dict(), ()),
        (
            dict(skills={}),
            load(),
            req(skills={"refunds": 2, "billing": 1}),
            dict(),
            dict(),
            ("no skill billing", "no skill refunds"),
        ),
        (
            dict(languages=("en", "fr")),
            load(),
            req(language="de"),
            dict(),
            dict(),
            ("does not speak de (speaks en, fr)",),
        ),
        (dict(languages=()), load(), req(language="de"), dict(), dict(), ("does not speak de (speaks none)",)),
        (dict(languages=("de",)), load(), req(language="de-AT"), dict(), dict(), ()),
        (dict(languages=("de-CH",)), load(), req(language="de"), dict(), dict(), ()),
        (dict(languages=("DE",)), load(), req(language="de-AT"), dict(), dict(), ()),
        (dict(), load(2, email=0, chat=2), req(), dict(channel="chat"), dict(), ("chat full 2/2",)),
        (dict(), load(5), req(), dict(channel="email"), dict(), ("email full 5/5",)),
        (dict(), load(2, email=0, chat=2), req(), dict(channel="email"), dict(), ()),
        (dict(capacity={"email": 5}), load(), req(), dict(channel="webhook"), dict(), ("webhook full 0/0",)),
        (dict(capacity={"email": 10}, total_capacity=8), load(8), req(), dict(), dict(), ("total full 8/8",)),
        (dict(total_capacity=0), load(), req(), dict(), dict(), ("total full 0/0",)),
        (
            dict(),
            load(recent=5),
            req(),
            dict(),
            dict(fairness_max_per_window=5),
            ("fairness limit 5 per 3600 s reached",),
        ),
        (dict(), load(recent=4), req(), dict(), dict(fairness_max_per_window=5), ()),
        (dict(), load(recent=50), req(), dict(), dict(), ()),
        (
            dict(),
            load(recent=3),
            req(),
            dict(),
            dict(fairness_max_per_window=3, fairness_window_s=900),
            ("fairness limit 3 per 900 s reached",),
        ),
        (dict(), load(), req(), dict(declined_by=("bob", "ada")), dict(), ("declined this ticket",)),
        (dict(), load(), req(), dict(declined_by=("bob",)), dict(), ()),
        # several at once, all reported, in a fixed order
        (
            dict(
                status="away",
                team="billing-l1",
                skills={"billing": 1},
                languages=("en",),
                capacity={"chat": 2},
                total_capacity=4,
            ),
            load(4, email=0, chat=2, recent=9),
            req(team="tier-2", skills={"billing": 4, "vat": 1}, language="de"),
            dict(channel="chat", declined_by=("ada",)),
            dict(fairness_max_per_window=9),
            (
                "status away",
                "not in team tier-2 (team billing-l1)",
                "skill billing 1 < 4",
                "no skill vat",
                "does not speak de (speaks en)",
                "chat full 2/2",
                "total full 4/4",
                "fairness limit 9 per 3600 s reached",
                "declined this ticket",
            ),
        ),
    ],
)
def test_eligibility_lists_every_reason_an_agent_is_excluded(
    agent_fields: dict[str, Any],
    agent_load: AgentLoad,
    requirement: Requirements,
    ticket_fields: dict[str, Any],
    queue_fields: dict[str, Any],
    reasons: tuple[str, ...],
) -> None:
    got = eligibility(
        agent("ada", **agent_fields), agent_load, requirement, ticket(**ticket_fields), queue(**queue_fields)
    )
    assert got == reasons


# --- strategies -------------------------------------------------------------------------------


def staff(*rows: tuple[str, int, int, float | None]) -> list[tuple[Agent, AgentLoad]]:
    """(id, load, total capacity, idle seconds or None) -> agents with their loads."""
    return [
        (
            agent(
                agent_id,
                total_capacity=cap,
                capacity={"email": cap},
                status_changed_at=None,
                last_assigned_at=None if idle is None else ago(idle),
            ),
            load(total),
        )
        for agent_id, total, cap, idle in rows
    ]


@pytest.mark.parametrize(
    ("strategy", "rows", "last", "chosen", "reason"),
    [
        # least loaded: the lowest ratio, not the lowest count
        (
            "least_loaded",
            [("ada", 2, 8, 60), ("bob", 1, 2, 60), ("cy", 3, 6, 60)],
            None,
            "ada",
            "least_loaded: ada has the lowest load (load 2/8 = 0.25, idle 60 s), among 3 eligible",
        ),
        # ... equal ratios: the longest idle
        (
            "least_loaded",
            [("ada", 1, 4, 60), ("bob", 2, 8, 900), ("cy", 3, 6, 5000)],
            None,
            "bob",
            "least_loaded: bob has the lowest load (load 2/8 = 0.25, idle 900 s), among 3 eligible; tie broken by longest idle",
        ),
        # ... never-stamped counts as the longest idle
        (
            "least_loaded",
            [("ada", 0, 4, 60), ("bob", 0, 8, None)],
            None,
            "bob",
            "least_loaded: bob has the lowest load (load 0/8 = 0.00, idle since unknown), among 2 eligible; "
            "tie broken by longest idle",
        ),
        # ... and then the agent id
        (
            "least_loaded",
            [("cy", 1, 4, 60), ("bob", 2, 8, 60), ("dee", 0, 8, 10)],
            None,
            "dee",
            "least_loaded: dee has the lowest load (load 0/8 = 0.00, idle 10 s), among 3 eligible",
        ),
        (
            "least_loaded",
            [("cy", 1, 4, 60), ("bob", 2, 8, 60)],
            None,
            "bob",
            "least_loaded: bob has the lowest load (load 2/8 = 0.25, idle 60 s), among 2 eligible; tie broken by agent id",
        ),
        (
            "least_loaded",
            [("solo", 7, 8, 1)],
            None,
            "solo",
            "least_loaded: solo has the lowest load (load 7/8 = 0.88, idle 1 s), the only eligible agent",
        ),
        # longest idle: the oldest idle-since, whatever the load
        (
            "longest_idle",
            [("ada", 0, 8, 60), ("bob", 6, 8, 7200), ("cy", 1, 8, 3600)],
            None,
            "bob",
            "longest_idle: bob has been idle longest (load 6/8 = 0.75, idle 7200 s), among 3 eligible",
        ),
        (
            "longest_idle",
            [("ada", 0, 8, 60), ("bob", 6, 8, 7200), ("cy", 7, 8, None)],
            None,
            "cy",
            "longest_idle: cy has been idle longest (load 7/8 = 0.88, idle since unknown), among 3 eligible",
        ),
        # ... ties: the lower load, then the id
        (
            "longest_idle",
            [("ada", 4, 8, 600), ("bob", 1, 8, 600), ("cy", 0, 8, 60)],
            None,
            "bob",
            "longest_idle: bob has been idle longest (load 1/8 = 0.12, idle 600 s), among 3 eligible; tie broken by lowest load",
        ),
        (
            "longest_idle",
            [("cy", 1, 8, 600), ("bob", 2, 16, 600)],
            None,
            "bob",
            "longest_idle: bob has been idle longest (load 2/16 = 0.12, idle 600 s), among 2 eligible; tie broken by agent id",
        ),
        # round robin: the next id after the last one, wrapping around
        (
            "round_robin",
            [("cy", 5, 8, 1), ("ada", 0, 8, 1), ("bob", 7, 8, 1)],
            None,
            "ada",
            "round_robin: no previous agent, ada is first by id",
        ),
        (
            "round_robin",
            [("cy", 5, 8, 1), ("ada", 0, 8, 1), ("bob", 7, 8, 1)],
            "ada",
            "bob",
            "round_robin: bob is next after ada",
        ),
        (
            "round_robin",
            [("cy", 5, 8, 1), ("ada", 0, 8, 1), ("bob", 7, 8, 1)],
            "bob",
            "cy",
            "round_robin: cy is next after bob",
        ),
        (
            "round_robin",
            [("cy", 5, 8, 1), ("ada", 0, 8, 1), ("bob", 7, 8, 1)],
            "cy",
            "ada",
            "round_robin: wrapped around to ada after cy",
        ),
        # the last one may have left or become ineligible: the next id after it still counts
        ("round_robin", [("cy", 5, 8, 1), ("ada", 0, 8, 1)], "bob", "cy", "round_robin: cy is next after bob"),
        (
            "round_robin",
            [("cy", 5, 8, 1), ("ada", 0, 8, 1)],
            "zed",
            "ada",
            "round_robin: wrapped around to ada after zed",
        ),
    ],
)
def test_each_strategy_picks_and_breaks_ties_deterministically(
    strategy: str, rows: list[tuple[str, int, int, float | None]], last: str | None, chosen: str, reason: str
) -> None:
    agents = staff(*rows)
    for order in (agents, list(reversed(agents))):
        decision = choose_agent(ticket(), queue(strategy=strategy), order, NOW, last_round_robin_agent=last)
        assert (decision.agent_id, decision.reason) == (chosen, reason)


def test_round_robin_skips_ineligible_agents() -> None:
    agents = staff(("ada", 0, 8, 1), ("bob", 8, 8, 1), ("cy", 0, 8, 1))
    decision = choose_agent(ticket(), queue(strategy="round_robin"), agents, NOW, last_round_robin_agent="ada")
    assert (decision.agent_id, decision.reason) == ("cy", "round_robin: cy is next after ada")


def test_idle_since_is_the_later_of_last_assignment_and_status_change() -> None:
    ada = agent("ada", last_assigned_at=ago(5000), status_changed_at=ago(30))  # just came back: idle 30 s
    bob = agent("bob", last_assigned_at=ago(600), status_changed_at=ago(7200))
    decision = choose_agent(
        ticket(), queue(strategy="longest_idle"), [(ada, load()), (bob, load())], NOW, last_round_robin_agent=None
    )
    assert decision.agent_id == "bob"


def test_every_candidate_is_listed_by_id_with_its_exclusions_or_score() -> None:
    agents = [
        (agent("cy", status="away"), load()),
        (agent("ada", last_assigned_at=ago(340)), load(2)),
        (agent("bob", skills={"billing": 1}), load()),
    ]
    decision = choose_agent(ticket(), queue(required_skills={"billing": 3}), agents, NOW, last_round_robin_agent=None)
    assert decision.candidates == (
        Candidate("ada", (), "load 2/8 = 0.25, idle 340 s"),
        Candidate("bob", ("skill billing 1 < 3",), None),
        Candidate("cy", ("status away",), None),
    )
    assert decision.agent_id == "ada"


# --- affinity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "bob_fields", "chosen", "reason"),
    [
        ("bob", dict(), "bob", "affinity: previous agent bob"),
        (None, dict(), "ada", "least_loaded: ada has the lowest load (load 0/8 = 0.00, idle 3600 s), among 2 eligible"),
        (
            "bob",
            dict(status="away"),
            "ada",
            "least_loaded: ada has the lowest load (load 0/8 = 0.00, idle 3600 s), the only eligible agent; "
            "previous agent bob not eligible (status away)",
        ),
        (
            "bob",
            dict(skills={"billing": 1}, languages=("fr",)),
            "ada",
            "least_loaded: ada has the lowest load (load 0/8 = 0.00, idle 3600 s), the only eligible agent; "
            "previous agent bob not eligible (skill billing 1 < 3, does not speak en (speaks fr))",
        ),
        (
            "zoe",
            dict(),
            "ada",
            "least_loaded: ada has the lowest load (load 0/8 = 0.00, idle 3600 s), among 2 eligible; previous agent zoe not available",
        ),
    ],
)
def test_affinity_to_the_previous_agent_beats_the_strategy_when_they_are_eligible(
    previous: str | None, bob_fields: dict[str, Any], chosen: str, reason: str
) -> None:
    agents = [(agent("ada"), load(0)), (agent("bob", **bob_fields), load(4))]
    q = queue(required_skills={"billing": 3}, require_language=True)
    decision = choose_agent(ticket(previous_agent_id=previous), q, agents, NOW, last_round_robin_agent=None)
    assert (decision.agent_id, decision.reason) == (chosen, reason)


def test_affinity_does_not_override_a_decline() -> None:
    agents = [(agent("ada"), load(3)), (agent("bob"), load(0))]
    decision = choose_agent(
        ticket(previous_agent_id="ada", declined_by=("ada",)),
        queue(strategy="round_robin"),
        agents,
        NOW,
        last_round_robin_agent=None,
    )
    assert decision.agent_id == "bob"
    assert decision.reason.endswith("previous agent ada not eligible (declined this ticket)")


# --- nobody -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agents", "reason"),
    [
        ([], "no agent is online"),
        ([(agent("ada", status="away"), load()), (agent("bob", status="offline"), load())], "no agent is online"),
        (
            [
                (agent("ada", skills={"billing": 1}), load()),
                (agent("bob"), load(2, email=0, chat=2)),
                (agent("cy", status="offline"), load()),
            ],
            "2 online agents, none eligible: ada: skill billing 1 < 3; bob: chat full 2/2",
        ),
        (
            [(agent(f"agent-{n:02d}", skills={}), load()) for n in range(12)],
            "12 online agents, none eligible: "
            + "; ".join(f"agent-{n:02d}: no skill billing" for n in range(10))
            + "; and 2 more",
        ),
    ],
)
def test_when_nobody_can_take_it_the_decision_says_why(agents: list[tuple[Agent, AgentLoad]], reason: str) -> None:
    decision = choose_agent(
        ticket(channel="chat"), queue(required_skills={"billing": 3}), agents, NOW, last_round_robin_agent=None
    )
    assert (decision.agent_id, decision.reason) == (None, reason)
    assert len(decision.candidates) == len(agents)


def test_the_online_list_given_decides_which_steps_are_skipped() -> None:
    q = queue(workflow=(replace(SPECIALISTS, skip_if_unavailable=True),))
    bob = agent("bob", team="billing-l1")
    decision = choose_agent(ticket(), q, [(bob, load())], NOW, last_round_robin_agent=None)
    assert (decision.agent_id, decision.requirements.step) == ("bob", GENERAL_POOL)
    # alice is online on another router shard: the specialists step holds, bob does not fit it
    decision = choose_agent(ticket(), q, [(bob, load())], NOW, last_round_robin_agent=None, online=[L2_ALICE, bob])
    assert (decision.agent_id, decision.requirements.step) == (None, "billing specialists")


# --- overflow, offers, order, skew ------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue_fields", "ticket_fields", "action"),
    [
        (dict(wait_limit_s=600, overflow_queue="tier-2"), dict(waiting_since=ago(600)), "move"),
        (dict(wait_limit_s=600, overflow_queue="tier-2"), dict(waiting_since=ago(599)), None),
        (
            dict(wait_limit_s=600, overflow_queue="tier-2", widen_skills_after_wait=True),
            dict(waiting_since=ago(900)),
            "move",
        ),
        (dict(wait_limit_s=600, widen_skills_after_wait=True), dict(waiting_since=ago(900)), "widen"),
        (dict(wait_limit_s=600, widen_skills_after_wait=True), dict(waiting_since=ago(900), skills_widened=True), None),
        (
            dict(wait_limit_s=600, overflow_queue="billing", widen_skills_after_wait=True),
            dict(waiting_since=ago(900)),
            "widen",
        ),
        (dict(wait_limit_s=600, overflow_queue="billing"), dict(waiting_since=ago(900)), None),
        (dict(wait_limit_s=600), dict(waiting_since=ago(900)), None),
        (dict(overflow_queue="tier-2", widen_skills_after_wait=True), dict(waiting_since=ago(10**6)), None),
        (dict(wait_limit_s=600, overflow_queue="tier-2"), dict(waiting_since=ago(900), status="offered"), None),
        (dict(wait_limit_s=600, overflow_queue="tier-2"), dict(waiting_since=ago(900), status="assigned"), None),
        (dict(wait_limit_s=0, overflow_queue="tier-2"), dict(waiting_since=NOW), "move"),
    ],
)
def test_overflow_moves_or_widens_past_the_wait_limit(
    queue_fields: dict[str, Any], ticket_fields: dict[str, Any], action: str | None
) -> None:
    assert overflow_action(ticket(**ticket_fields), queue(**queue_fields), NOW) == action


@pytest.mark.parametrize(
    ("status", "expires", "expired"),
    [
        ("offered", ago(1), True),
        ("offered", NOW, True),
        ("offered", ago(-1), False),
        ("offered", None, False),
        ("assigned", ago(60), False),
        ("waiting", ago(60), False),
    ],
)
def test_an_offer_expires_at_its_deadline(status: str, expires: datetime | None, expired: bool) -> None:
    assert offer_expired(ticket(status=status, offer_expires_at=expires, agent_id="ada"), NOW) is expired


def test_waiting_tickets_are_served_by_priority_then_age_then_id() -> None:
    tickets = [
        ticket(ticket_id="low-old", priority="low", received_at=ago(5 * 3600)),
        ticket(ticket_id="normal-new", priority="normal", received_at=NOW),
        ticket(ticket_id="normal-old-b", priority="normal", received_at=ago(3600)),
        ticket(ticket_id="normal-old-a", priority="normal", received_at=ago(3600)),
        ticket(ticket_id="urgent-new", priority="urgent", received_at=NOW),
        ticket(ticket_id="high-mid", priority="high", received_at=ago(1800)),
    ]
    expected = ["urgent-new", "high-mid", "normal-old-a", "normal-old-b", "normal-new", "low-old"]
    for seed in range(5):
        shuffled = tickets[:]
        random.Random(seed).shuffle(shuffled)
        assert [t.ticket_id for t in sorted(shuffled, key=waiting_order)] == expected


@pytest.mark.parametrize(
    ("counts", "skew"),
    [
        ({}, 0.0),
        ({"ada": 7}, 0.0),
        ({"ada": 0, "bob": 0}, 0.0),
        ({"ada": 5, "bob": 5, "cy": 5}, 0.0),
        ({"ada": 2, "bob": 4}, 1 / 3),
        ({"ada": 10, "bob": 0}, 1.0),
        ({"ada": 9, "bob": 0, "cy": 0}, math.sqrt(2)),
        ({"ada": 6, "bob": 4, "cy": 5, "dee": 5}, math.sqrt(0.5) / 5),
    ],
)
def test_distribution_skew_is_the_coefficient_of_variation(counts: dict[str, int], skew: float) -> None:
    assert distribution_skew(counts) == pytest.approx(skew)


# --- property: never an ineligible agent, independent of input order --------------------------

SKILLS = ("billing", "refunds", "vat")
TEAMS = (None, "billing", "tier-2")


@st.composite
def agents_and_loads(draw: st.DrawFn) -> list[tuple[Agent, AgentLoad]]:
    ids = draw(
        st.lists(st.sampled_from(["ada", "bob", "cy", "dee", "eli", "fay", "gus"]), unique=True, min_size=1, max_size=7)
    )
    stamps = st.none() | st.integers(0, 3).map(lambda n: ago(n * 600))  # coarse, so ties happen
    rows = []
    for agent_id in ids:
        email_cap, chat_cap, total_cap = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 6))
        rows.append(
            (
                Agent(
                    id=agent_id,
                    name=agent_id,
                    team=draw(st.sampled_from(TEAMS)),
                    skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)),
                    languages=tuple(
                        draw(st.lists(st.sampled_from(["en", "de", "de-AT", "fr"]), unique=True, max_size=2))
                    ),
                    capacity={"email": email_cap, "chat": chat_cap},
                    total_capacity=total_cap,
                    status=draw(st.sampled_from(["online", "online", "online", "away", "offline"])),
                    status_changed_at=draw(stamps),
                    last_assigned_at=draw(stamps),
                ),
                # mostly within capacity, sometimes exactly full
                AgentLoad(
                    by_channel={"email": draw(st.integers(0, email_cap)), "chat": draw(st.integers(0, chat_cap))},
                    total=draw(st.integers(0, total_cap)),
                    recent_from_queue=draw(st.integers(0, 2)),
                ),
            )
        )
    return rows


@settings(max_examples=200, deadline=None)
@given(
    rows=agents_and_loads(),
    strategy=st.sampled_from(["least_loaded", "longest_idle", "round_robin"]),
    required=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=1),
    channel=st.sampled_from(["email", "chat"]),
    language=st.sampled_from([None, "en", "de", "de-CH"]),
    require_language=st.booleans(),
    previous=st.sampled_from([None, "ada", "bob", "zed"]),
    declined=st.lists(st.sampled_from(["ada", "cy", "eli"]), unique=True, max_size=2),
    last=st.sampled_from([None, "ada", "cy", "gus", "zed"]),
    fairness=st.sampled_from([None, None, 1, 2]),
    workflow=st.booleans(),
    waited=st.integers(0, 900),
    widened=st.booleans(),
    shuffle_seed=st.integers(0, 2**32 - 1),
)
def test_choose_agent_never_picks_an_ineligible_agent_and_ignores_input_order(
    rows: list[tuple[Agent, AgentLoad]],
    strategy: str,
    required: dict[str, int],
    channel: str,
    language: str | None,
    require_language: bool,
    previous: str | None,
    declined: list[str],
    last: str | None,
    fairness: int | None,
    workflow: bool,
    waited: int,
    widened: bool,
    shuffle_seed: int,
) -> None:
    steps = (
        (
            WorkflowTarget(
                "tier-2 first", team="tier-2", skills={"billing": 2}, timeout_s=300, skip_if_unavailable=True
            ),
            WorkflowTarget("billing team", team="billing", timeout_s=300),
        )
        if workflow
        else ()
    )
    q = queue(
        strategy=strategy,
        required_skills=required,
        require_language=require_language,
        fairness_max_per_window=fairness,
        workflow=steps,
    )
    t = ticket(
        channel=channel,
        language=language,
        previous_agent_id=previous,
        declined_by=tuple(declined),
        waiting_since=ago(waited),
        skills_widened=widened,
    )
    decision = choose_agent(t, q, rows, NOW, last_round_robin_agent=last)

    eligible = {a.id for a, ld in rows if not eligibility(a, ld, decision.requirements, t, q)}
    assert {c.agent_id for c in decision.candidates if not c.excluded} == eligible
    if decision.agent_id is None:
        assert not eligible
    else:
        assert decision.agent_id in eligible
        if previous in eligible:
            assert decision.agent_id == previous

    shuffled = rows[:]
    random.Random(shuffle_seed).shuffle(shuffled)
    assert choose_agent(t, q, shuffled, NOW, last_round_robin_agent=last) == decision


def test_load_ratios_as_floats_order_and_tie_exactly_like_fractions() -> None:
    """`_ratio` compares loads as floats for speed; for every load up to 60 over every capacity the
    API allows (1..1000), the float order and its ties must be the exact rational ones."""
    from fractions import Fraction
    from itertools import pairwise

    from services.router.domain.assignment import _ratio

    pairs = [(load, cap) for cap in range(1, 1001) for load in range(61)]
    floats = {pair: _ratio(agent("a", total_capacity=pair[1]), AgentLoad(total=pair[0])) for pair in pairs}
    ordered = sorted(pairs, key=lambda p: Fraction(p[0], p[1]))
    for before, after in pairwise(ordered):
        exact_tie = Fraction(*before) == Fraction(*after)
        assert (floats[before] == floats[after]) is exact_tie, (before, after)
        assert floats[before] <= floats[after], (before, after)
