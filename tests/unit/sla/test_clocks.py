"""SLA clocks derived from a ticket's events: one test per rule of the clock semantics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.sla.domain.clocks import evaluate
from services.sla.domain.model import Conditions, MetricClock, Pause, SlaConfig, TicketSla
from shared.events.base import Event
from tests.unit.sla import (
    OFFICE,
    H,
    at,
    config,
    message,
    policy,
    priority,
    received,
    status,
    target,
)

STANDARD = config(
    policy(
        "standard",
        target("first_reply", H),
        target("next_reply", H // 2),
        target("periodic_update", 2 * H),
        target("resolution", 4 * H),
    )
)


def sla(history: Sequence[Event], minute: float, cfg: SlaConfig = STANDARD) -> TicketSla:
    got = evaluate(history, cfg, at(minute))
    assert got is not None
    return got


def clock(got: TicketSla, metric: str, cycle: int = 0) -> MetricClock:
    return next(c for c in got.clocks if c.metric == metric and c.cycle == cycle)


def test_a_public_agent_reply_in_time_meets_first_reply() -> None:
    first = clock(sla([received(), message(40)], 50), "first_reply")
    assert (first.state, first.stopped_at, first.due_at, first.breached_at) == ("met", at(40), at(60), None)
    assert (first.business_elapsed_s, first.calendar_elapsed_s, first.remaining_s) == (2400, 2400, 1200)


def test_first_reply_breaches_at_its_due_instant_while_running() -> None:
    first = clock(sla([received()], 90), "first_reply")
    assert (first.state, first.breached_at, first.due_at, first.stopped_at) == ("breached", at(60), at(60), None)
    assert first.remaining_s == -1800


def test_a_late_reply_stops_a_breached_clock_that_stays_breached() -> None:
    first = clock(sla([received(), message(90)], 100), "first_reply")
    assert (first.state, first.breached_at, first.stopped_at, first.remaining_s) == ("breached", at(60), at(90), -1800)


def test_a_reply_exactly_at_the_due_instant_is_in_time() -> None:
    assert clock(sla([received(), message(60)], 70), "first_reply").state == "met"


def test_internal_notes_system_and_customer_messages_never_stop_reply_clocks() -> None:
    history = [received(), message(5, public=False), message(10, "system"), message(15, "customer")]
    first = clock(sla(history, 30), "first_reply")
    assert (first.state, first.due_at, first.stopped_at) == ("running", at(60), None)
    assert [c.metric for c in sla(history, 30).clocks] == ["first_reply", "resolution"]


def test_each_customer_message_after_an_agent_reply_starts_a_next_reply_cycle() -> None:
    history = [
        received(),
        message(10),
        message(20, "customer"),
        message(35),  # cycle 1 met after 15 min
        message(50, "customer"),
        message(55, "customer"),  # cycle 2 is already running
        message(60, "agent", public=False),  # a note does not stop it
    ]
    got = sla(history, 100)
    assert [(c.cycle, c.state) for c in got.clocks if c.metric == "next_reply"] == [(1, "met"), (2, "breached")]
    assert (clock(got, "next_reply", 1).started_at, clock(got, "next_reply", 1).stopped_at) == (at(20), at(35))
    second = clock(got, "next_reply", 2)
    assert (second.started_at, second.due_at, second.breached_at, second.stopped_at) == (at(50), at(80), at(80), None)


def test_periodic_updates_run_from_one_public_agent_reply_to_the_next() -> None:
    history = [received(), message(10), message(60), status(100, "open", "solved")]
    got = sla(history, 90)
    assert [(c.cycle, c.state, c.started_at, c.stopped_at) for c in got.clocks if c.metric == "periodic_update"] == [
        (1, "met", at(10), at(60)),
        (2, "running", at(60), None),
    ]
    assert clock(got, "periodic_update", 2).due_at == at(180)


def test_reply_clocks_stop_counting_without_meeting_or_breaching_while_solved() -> None:
    history = [received(), message(10), message(20, "customer"), status(30, "open", "solved")]
    got = sla(history, 200)
    for metric, cycle in [("next_reply", 1), ("periodic_update", 1)]:
        paused = clock(got, metric, cycle)
        assert (paused.state, paused.due_at, paused.stopped_at) == ("paused", None, None)
        assert paused.pauses == (Pause(reason="solved", started_at=at(30)),)
    assert clock(got, "next_reply", 1).business_elapsed_s == 600


def test_a_reopen_restarts_resolution_keeping_its_elapsed_time() -> None:
    history = [received(), message(10), status(30, "open", "solved")]
    solved = clock(sla(history, 100), "resolution")
    assert (solved.state, solved.stopped_at, solved.business_elapsed_s, solved.due_at) == ("met", at(30), 1800, at(240))
    reopened = clock(sla([*history, status(180, "solved", "open")], 200), "resolution")
    # 3h30 were left: due 3h30 after the reopen
    assert (reopened.state, reopened.stopped_at, reopened.due_at, reopened.cycle) == ("running", None, at(390), 0)
    assert (reopened.business_elapsed_s, reopened.remaining_s) == (3000, 4 * H - 3000)


def test_pending_pauses_every_clock_and_resuming_recomputes_the_due() -> None:
    history = [received(), status(10, "new", "pending"), status(40, "pending", "open")]
    during = sla(history[:2], 20)
    assert {(c.metric, c.state, c.due_at, c.business_elapsed_s) for c in during.clocks} == {
        ("first_reply", "paused", None, 600),
        ("resolution", "paused", None, 600),
    }
    after = clock(sla(history, 50), "first_reply")
    assert (after.state, after.due_at, after.calendar_elapsed_s) == ("running", at(90), 1200)
    assert after.pauses == (Pause(reason="pending", started_at=at(10), ended_at=at(40)),)


def test_a_clock_that_stops_while_paused_never_resumes() -> None:
    history = [received(), status(10, "new", "on_hold"), message(30), status(50, "on_hold", "open")]
    first = clock(sla(history, 60), "first_reply")
    assert (first.state, first.stopped_at, first.business_elapsed_s, first.due_at) == ("met", at(30), 600, at(60))
    assert first.pauses == (Pause(reason="on_hold", started_at=at(10)),)


def test_a_policy_can_leave_on_hold_counting() -> None:
    cfg = config(policy("p", target("first_reply", H), pause_on=("pending",)))
    assert clock(sla([received(), status(10, "new", "on_hold")], 30, cfg), "first_reply").state == "running"


def test_a_business_calendar_due_skips_the_night_and_the_weekend() -> None:
    cfg = config(
        policy(
            "office",
            target("first_reply", 2 * H),
            target("resolution", 24 * H, business_hours=False),
            calendar_id="office",
        ),
        calendars={"office": OFFICE},
    )
    friday_4pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    ticket = [received(minute=(friday_4pm - at(0)) / timedelta(minutes=1))]
    monday_930 = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    got = evaluate(ticket, cfg, monday_930)
    assert got is not None
    first, resolution = clock(got, "first_reply"), clock(got, "resolution")
    assert (first.due_at, first.state) == (datetime(2026, 11, 30, 10, 0, tzinfo=UTC), "running")
    assert (first.business_elapsed_s, first.calendar_elapsed_s, first.remaining_s) == (5400, (65 * 60 + 30) * 60, 1800)
    # calendar time, though business time still counts in business_elapsed_s
    assert (resolution.due_at, resolution.state) == (friday_4pm + timedelta(hours=24), "breached")
    assert resolution.business_elapsed_s == 5400


def test_a_thursday_evening_ticket_is_due_the_next_business_morning() -> None:
    cfg = config(policy("office", target("first_reply", 4 * H), calendar_id="office"), calendars={"office": OFFICE})
    thursday_3pm = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    got = evaluate([received(minute=(thursday_3pm - at(0)) / timedelta(minutes=1))], cfg, thursday_3pm)
    assert got is not None
    assert clock(got, "first_reply").due_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


TIERED = config(
    policy("urgent", target("first_reply", H // 2), conditions=Conditions(priority=("urgent",))),
    policy("normal", target("first_reply", 2 * H)),
)


def test_a_priority_change_recomputes_the_due_from_the_original_start() -> None:
    history = [received(), priority(20, "normal", "urgent")]
    before = sla(history[:1], 10, TIERED)
    assert (before.policy_id, clock(before, "first_reply").due_at) == ("normal", at(120))
    after = sla(history, 25, TIERED)
    first = clock(after, "first_reply")
    assert (after.policy_id, after.applied_at, first.target_s, first.due_at) == ("urgent", at(20), 1800, at(30))
    assert clock(sla(history, 40, TIERED), "first_reply").breached_at == at(30)


def test_a_stopped_clock_keeps_the_target_it_stopped_under() -> None:
    history = [received(), message(45), priority(60, "normal", "urgent")]
    first = clock(sla(history, 70, TIERED), "first_reply")
    assert (first.state, first.target_s, first.due_at) == ("met", 2 * H, at(120))


def test_events_after_now_do_not_count() -> None:
    first = clock(sla([received(), message(40)], 30), "first_reply")
    assert (first.state, first.stopped_at) == ("running", None)


def test_no_sla_without_a_received_ticket_and_no_clocks_without_a_policy() -> None:
    assert evaluate([message(5)], STANDARD, at(10)) is None
    got = sla([received()], 10, config(policy("chat", conditions=Conditions(channel=("chat",)))))
    assert (got.policy_id, got.clocks, got.applied_at) == (None, (), None)


def test_warn_at_is_in_the_targets_own_time() -> None:
    cfg = config(
        policy(
            "p",
            target("first_reply", H, warn_before_s=600),
            target("resolution", 4 * H, warn_percent=75),
            calendar_id="office",
        ),
        calendars={"office": OFFICE},
    )
    got = sla([received(minute=7 * 60)], 7 * 60, cfg)  # Monday 16:00
    assert clock(got, "first_reply").warn_at == datetime(2026, 11, 23, 16, 50, tzinfo=UTC)
    assert clock(got, "resolution").warn_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
