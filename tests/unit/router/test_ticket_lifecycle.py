"""Ingest's ticket events and escalations as pure decisions: solve, reopen, re-prioritise, escalate."""

from __future__ import annotations

import pytest

from services.router.domain.model import Priority, RoutedTicket, RuleActions, TicketFacts
from services.router.domain.rules import RuleMatch
from services.router.domain.ticket_lifecycle import (
    escalate,
    facts_with_fields,
    facts_with_priority,
    rematches_on_priority_change,
    reprioritise,
    status_changed,
)
from shared.events.escalation import EscalationRequested
from shared.events.routing import RoutingDecisionRecorded, TicketPriorityRaised
from shared.events.tickets import Status, TicketFieldsChanged, TicketStatusChanged
from tests.unit.router.factories import NOW, events, held, offered, queue, ticket


def status(old: Status, new: Status) -> TicketStatusChanged:
    return TicketStatusChanged(ticket_id="t-1", old_status=old, new_status=new, changed_at=NOW)


@pytest.mark.parametrize("new", ["solved", "closed"])
@pytest.mark.parametrize("state", [held("ada"), offered("ada"), ticket()])
def test_a_solved_ticket_is_done_and_frees_its_agent(state: RoutedTicket, new: Status) -> None:
    change = status_changed(state, status("open", new), NOW)
    assert change is not None
    assert (change.ticket.status, change.ticket.agent_id, change.ticket.offer_expires_at) == ("done", None, None)
    assert change.ticket.previous_agent_id == state.agent_id
    assert change.release
    assert (change.unassign_reason, change.unassign_cause) == (f"ticket {new}", new), "said only if someone held it"
    assert change.events == ()


def test_solving_keeps_the_earlier_previous_agent_when_nobody_held_it() -> None:
    change = status_changed(ticket(previous_agent_id="bob"), status("open", "solved"), NOW)
    assert change is not None
    assert change.ticket.previous_agent_id == "bob"


@pytest.mark.parametrize(
    ("state", "event"),
    [
        pytest.param(ticket(status="done"), status("solved", "closed"), id="done stays done"),
        pytest.param(held(), status("new", "open"), id="an open ticket's status changes nothing here"),
        pytest.param(ticket(), status("open", "pending"), id="a waiting ticket's neither"),
    ],
)
def test_status_changes_that_change_no_routing(state: RoutedTicket, event: TicketStatusChanged) -> None:
    assert status_changed(state, event, NOW) is None


def test_a_reopened_ticket_waits_again_preferring_its_previous_agent() -> None:
    done = ticket(status="done", previous_agent_id="ada", rule_id="r1")
    change = status_changed(done, status("solved", "open"), NOW)
    assert change is not None
    assert (change.ticket.status, change.ticket.waiting_since, change.ticket.previous_agent_id) == (
        "waiting",
        NOW,
        "ada",
    )
    assert events(change) == [
        ("TicketUnassigned", "reopened (solved -> open): back to the queue"),
        ("TicketRouted", "reopened (solved -> open)"),
        ("record", "requeue: reopened; previous agent preferred"),
    ]
    assert change.events[0].agent_id == "ada" and change.events[0].cause == "reopened"  # type: ignore[attr-defined]
    assert not change.release


def match(queue_name: str, priority: Priority | None = None) -> RuleMatch:
    return RuleMatch("r1", RuleActions(queue=queue_name, priority=priority), (), f"rule r1 matched: {queue_name}")


@pytest.mark.parametrize(
    ("new", "rule_priority", "floor", "rematch_to", "priority", "by", "queue_name", "moved"),
    [
        pytest.param("high", None, "low", None, "high", "ingest", "billing", False, id="held: priority only"),
        pytest.param("high", None, "low", "billing", "high", "ingest", "billing", False, id="same queue"),
        pytest.param("low", None, "normal", "billing", "normal", "queue:billing", "billing", False, id="queue floor"),
        pytest.param("low", "urgent", "low", "billing", "urgent", "rule:r1", "billing", False, id="the rule raises"),
        pytest.param("urgent", "high", "low", "billing", "urgent", "ingest", "billing", False, id="never lowered"),
        pytest.param("urgent", None, "low", "vip", "urgent", "ingest", "vip", True, id="the rules pick another queue"),
    ],
)
def test_a_priority_change(
    new: Priority,
    rule_priority: Priority | None,
    floor: Priority,
    rematch_to: str | None,
    priority: Priority,
    by: str,
    queue_name: str,
    moved: bool,
) -> None:
    rematch = None
    if rematch_to is not None:
        rematch = (match(rematch_to, rule_priority), queue(name=rematch_to, default_priority=floor))
    change = reprioritise(ticket(), new, rematch=rematch, now=NOW)
    assert (change.ticket.priority, change.ticket.queue) == (priority, queue_name)
    records = [e for e in change.events if isinstance(e, RoutingDecisionRecorded)]
    asked = {} if new == "normal" else {"asked": new}
    assert [r.priority_change for r in records] == [{"from": "normal", "to": priority, "by": by, **asked}]
    raised = [e for e in change.events if isinstance(e, TicketPriorityRaised)]
    if by == "ingest":
        assert raised == [], "ingest knows what it set"
    else:
        assert [(e.old_priority, e.new_priority, e.by) for e in raised] == [(new, priority, by)]
    if moved:
        assert events(change)[0] == ("TicketQueueChanged", f"priority now {new}: rule r1 matched: vip")
        assert change.ticket.waiting_since == NOW


@pytest.mark.parametrize(("state", "rematches"), [(ticket(), True), (held(), False), (offered(), False)])
def test_only_a_waiting_ticket_is_rematched(state: RoutedTicket, rematches: bool) -> None:
    assert rematches_on_priority_change(state) is rematches


def test_facts_follow_the_ticket() -> None:
    facts = TicketFacts(ticket_id="t-1", channel="email", tags=("a",), custom_fields={"x": 1})
    assert facts_with_priority(facts, "urgent").priority == "urgent"
    changed = TicketFieldsChanged(ticket_id="t-1", tags=("b", "c"), custom_fields={"y": 2}, changed_at=NOW)
    assert (facts_with_fields(facts, changed).tags, facts_with_fields(facts, changed).custom_fields) == (
        ("b", "c"),
        {"y": 2},
    )


def escalation(to_queue: str | None = None, priority: Priority | None = None) -> EscalationRequested:
    return EscalationRequested(ticket_id="t-1", to_queue=to_queue, priority=priority, reason="sla", requested_at=NOW)


@pytest.mark.parametrize(
    ("state", "event", "priority", "queue_name", "moved"),
    [
        pytest.param(held(), escalation(priority="high"), "high", "billing", False, id="priority raised"),
        pytest.param(
            held(priority="urgent"), escalation(priority="high"), "urgent", "billing", False, id="never lowered"
        ),
        pytest.param(held(), escalation(to_queue="billing"), "normal", "billing", False, id="already there"),
        pytest.param(held(), escalation(to_queue="tier2", priority="high"), "high", "tier2", True, id="moved"),
    ],
)
def test_an_escalation(
    state: RoutedTicket, event: EscalationRequested, priority: Priority, queue_name: str, moved: bool
) -> None:
    change = escalate(state, event, NOW)
    assert change is not None
    assert (change.ticket.priority, change.ticket.queue) == (priority, queue_name)
    raised = [(e.old_priority, e.new_priority, e.by) for e in change.events if isinstance(e, TicketPriorityRaised)]
    assert raised == ([(state.priority, priority, "escalation")] if priority != state.priority else [])
    if moved:
        assert events(change)[:2] == [
            ("TicketQueueChanged", "escalated: sla"),
            ("record", "transfer: escalated: sla; priority normal -> high by escalation"),
        ]
        assert (change.release, change.unassign_reason) == (True, "escalated to tier2: sla")
        assert (change.ticket.status, change.ticket.agent_id) == ("waiting", None)
    else:
        assert not change.release
        assert change.ticket.agent_id == "ada"


def test_a_done_ticket_is_not_escalated() -> None:
    assert escalate(ticket(status="done"), escalation(to_queue="tier2", priority="urgent"), NOW) is None
