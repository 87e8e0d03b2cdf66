"""The README's worked SLA examples, reproduced through the pure domain (business_time and evaluate):
if one of these fails, the README is wrong or the code is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.sla.domain import business_time
from services.sla.domain.clocks import evaluate, transitions
from services.sla.domain.model import Calendar, Conditions, Interval, MetricClock, SlaConfig, Target
from shared.events.base import Event
from shared.events.tickets import MessageAdded, TicketPriorityChanged, TicketReceived, TicketStatusChanged
from tests.unit.sla import config, policy, target

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600


def weekdays(start: int, end: int, zone: str = "Europe/Berlin") -> Calendar:
    """Mon-Fri start:00-end:00 local, weekends closed."""
    return Calendar(id="office", time_zone=zone, weekly=((Interval(start=time(start), end=time(end)),),) * 5 + ((), ()))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall time in Berlin in the week of Monday 2026-11-23 (day 23 Monday ... 27 Friday, 30 Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def received(when: datetime, priority: str = "normal") -> TicketReceived:
    return TicketReceived.model_validate(
        dict(ticket_id="t-doc", reference="SB-1", channel="email", priority=priority, received_at=when)
    )


def status(when: datetime, old: str, new: str) -> Event:
    return TicketStatusChanged.model_validate(dict(ticket_id="t-doc", old_status=old, new_status=new, changed_at=when))


def reply(when: datetime, *, public: bool = True) -> Event:
    return MessageAdded(
        ticket_id="t-doc",
        message_id=f"m-{when.isoformat()}-{public}",
        author_kind="agent",
        public=public,
        added_at=when,
    )


def clock(history: Sequence[Event], cfg: SlaConfig, now: datetime, metric: str) -> MetricClock:
    sla = evaluate(history, cfg, now)
    assert sla is not None
    return next(c for c in sla.clocks if c.metric == metric and c.cycle == 0)


def in_office(cal: Calendar, *targets: Target) -> SlaConfig:
    return config(policy("office", *targets, calendar_id=cal.id), calendars={cal.id: cal})


def test_i_four_business_hours_from_friday_16_are_due_monday_11() -> None:
    office = weekdays(8, 17)
    friday = local(27, 16)
    assert business_time.add(office, friday, timedelta(hours=4)) == local(30, 11)
    got = clock([received(friday)], in_office(office, target("first_reply", 4 * H)), local(27, 16, 30), "first_reply")
    assert (got.state, got.due_at) == ("running", local(30, 11))
    # and it is exactly due then: one hour on Friday, three on Monday
    assert clock(
        [received(friday)], in_office(office, target("first_reply", 4 * H)), local(30, 11), "first_reply"
    ).state == ("breached")


def test_ii_sixteen_business_hours_on_a_nine_to_five_calendar_are_two_business_days() -> None:
    office = weekdays(9, 17)
    monday = local(23, 9)
    assert business_time.add(office, monday, timedelta(hours=16)) == local(24, 17)
    got = clock([received(monday)], in_office(office, target("resolution", 16 * H)), local(23, 12), "resolution")
    assert got.due_at == local(24, 17)


def test_iii_pending_from_11_to_14_moves_an_eight_hour_resolution_to_tuesday_13() -> None:
    office = weekdays(9, 17)
    cfg = in_office(office, target("resolution", 8 * H))
    history = [
        received(local(23, 10)),
        status(local(23, 11), "new", "pending"),
        status(local(23, 14), "pending", "open"),
    ]
    paused = clock(history[:2], cfg, local(23, 12), "resolution")
    assert (paused.state, paused.due_at, paused.business_elapsed_s) == ("paused", None, 1 * H)
    resumed = clock(history, cfg, local(23, 14, 30), "resolution")
    # 1 h before the pause, 7 h left from 14:00: 3 h on Monday, 4 h on Tuesday from 09:00
    assert (resumed.state, resumed.due_at) == ("running", local(24, 13))
    assert resumed.pauses[0].reason == "pending"
    assert (resumed.pauses[0].started_at, resumed.pauses[0].ended_at) == (local(23, 11), local(23, 14))


def test_iv_a_raise_to_urgent_two_hours_in_breaches_at_receipt_plus_the_urgent_target() -> None:
    cfg = config(
        policy(
            "urgent", target("first_reply", 1 * H, business_hours=False), conditions=Conditions(priority=("urgent",))
        ),
        policy("standard", target("first_reply", 8 * H, business_hours=False)),
    )
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    raised = TicketPriorityChanged(
        ticket_id="t-doc", old_priority="normal", new_priority="urgent", changed_at=start + timedelta(hours=2)
    )
    before = clock([received(start)], cfg, start + timedelta(hours=1, minutes=59), "first_reply")
    assert (before.state, before.due_at) == ("running", start + timedelta(hours=8))
    sla = evaluate([received(start), raised], cfg, start + timedelta(hours=2))
    assert sla is not None and sla.policy_id == "urgent"
    first = next(c for c in sla.clocks if c.metric == "first_reply")
    # measured from the original start: already past, so breached at receipt + 1 h, not change + 1 h
    assert (first.state, first.breached_at, first.due_at) == ("breached", start + timedelta(hours=1), first.breached_at)
    assert [t.at for t in transitions(sla) if t.kind == "breached"] == [start + timedelta(hours=1)]


def test_v_an_internal_note_does_not_stop_first_reply_a_public_agent_reply_does() -> None:
    cfg = config(policy("standard", target("first_reply", 1 * H, business_hours=False)))
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    note, answer = reply(start + timedelta(minutes=10), public=False), reply(start + timedelta(minutes=40))
    noted = clock([received(start), note], cfg, start + timedelta(minutes=30), "first_reply")
    assert (noted.state, noted.stopped_at, noted.due_at) == ("running", None, start + timedelta(hours=1))
    met = clock([received(start), note, answer], cfg, start + timedelta(minutes=50), "first_reply")
    assert (met.state, met.stopped_at) == ("met", start + timedelta(minutes=40))
    later = clock([received(start), note, answer], cfg, start + timedelta(hours=3), "first_reply")
    assert (later.state, later.breached_at) == ("met", None)
