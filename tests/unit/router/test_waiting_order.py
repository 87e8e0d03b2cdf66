from dataclasses import replace
from datetime import datetime, timedelta, timezone

from services.router.domain.decide import route, waiting_order
from tests.support.events import ticket_received

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_a_received_ticket_waits_in_the_default_queue_and_the_decision_says_why() -> None:
    ticket, event = route(ticket_received("t-1", priority="high"), default_queue="triage", now=NOW)
    assert (ticket.queue, ticket.status, ticket.priority) == ("triage", "waiting", "high")
    assert (event.queue, event.priority, event.rule) == ("triage", "high", None)
    assert "default queue" in event.reason


def test_waiting_tickets_are_served_by_priority_then_age() -> None:
    base, _ = route(ticket_received("t-0"), default_queue="triage", now=NOW)
    tickets = [
        replace(base, ticket_id="low-old", priority="low", received_at=NOW - timedelta(hours=5)),
        replace(base, ticket_id="normal-new", priority="normal", received_at=NOW),
        replace(base, ticket_id="normal-old", priority="normal", received_at=NOW - timedelta(hours=1)),
        replace(base, ticket_id="urgent-new", priority="urgent", received_at=NOW),
        replace(base, ticket_id="high-mid", priority="high", received_at=NOW - timedelta(minutes=30)),
    ]
    assert [t.ticket_id for t in sorted(tickets, key=waiting_order)] == [
        "urgent-new", "high-mid", "normal-old", "normal-new", "low-old",
    ]
