"""Who owns priority: the explicit one (a person or the platform, via ingest) is never lowered by a
rule or a queue's default; they may raise it, and every change says from, to and by whom."""

from __future__ import annotations

import pytest

from services.router.domain.decide import route
from services.router.domain.model import Priority, RuleActions, TicketFacts
from services.router.domain.rules import RuleMatch
from shared.events.routing import RoutingDecisionRecorded, TicketPriorityRaised
from tests.unit.router.factories import NOW, ago, queue


@pytest.mark.parametrize(
    ("explicit", "rule", "floor", "shown", "change"),
    [
        pytest.param("urgent", "high", "low", "urgent", None, id="a rule's high does not lower urgent"),
        pytest.param("urgent", None, "high", "urgent", None, id="a queue default does not lower urgent"),
        pytest.param("normal", "high", "low", "high", {"from": "normal", "to": "high", "by": "rule:vip"}, id="raised"),
        pytest.param(
            "low", None, "normal", "normal", {"from": "low", "to": "normal", "by": "queue:billing"}, id="floor"
        ),
        pytest.param("high", "low", "low", "high", None, id="a rule's low does not lower it either"),
    ],
)
def test_routing_never_lowers_the_explicit_priority(
    explicit: Priority, rule: Priority | None, floor: Priority, shown: Priority, change: dict | None
) -> None:
    facts = TicketFacts(ticket_id="t-1", channel="email", priority=explicit)
    match = RuleMatch("vip", RuleActions(queue="billing", priority=rule), (), "rule vip matched")
    ticket, events = route(
        facts, reference="SB-1", received_at=ago(5), match=match, queue=queue(default_priority=floor), now=NOW
    )
    assert ticket.priority == shown
    (record,) = [e for e in events if isinstance(e, RoutingDecisionRecorded)]
    assert record.priority_change == change
    raised = [(e.old_priority, e.new_priority, e.by) for e in events if isinstance(e, TicketPriorityRaised)]
    assert raised == ([(explicit, shown, change["by"])] if change else [])
