"""A ticket's SLA clocks, derived from its events as of an instant: never from the order they arrived in.

`evaluate(history, config, now)` sorts the events by their own timestamps (`order`), keeps those at
or before `now`, picks the policy from the facts as they are at `now` and measures every clock from
its ORIGINAL start, so upgrading a ticket to urgent two hours in shortens the due instead of
restarting the clock. A clock that has stopped keeps the target of the policy that measured the
ticket when it stopped (a met first reply does not turn breached because the priority rose later).

Clocks (examples with a 1h first-reply target, around the clock, received at 09:00):
- first_reply (cycle 0): starts at received_at, stops at the first PUBLIC agent message. Internal
  notes and system messages never stop a reply clock. Public reply 09:40: met, due 10:00.
- next_reply (cycles 1, 2, ...): a public customer message after a public agent reply starts one (if
  none is running), the next public agent reply stops it. Past cycles stay, met or breached.
- periodic_update (cycles 1, 2, ...): the first public agent reply starts cycle 1; each public agent
  reply while the ticket is not solved/closed stops the running cycle and starts the next.
- resolution (cycle 0): starts at received_at, stops when the ticket is solved or closed. A reopen
  restarts it keeping the elapsed time: solved at 09:30 with 4h target, reopened at 12:00, so due
  15:30 (the 3h30 left, from the reopen).
- pauses: while the status is in the policy's `pause_on` every clock stops counting, `due_at` is
  None and a Pause(reason=status) is recorded; on resume the due is `add(calendar, resume, left)`.
  Reply clocks also pause (reason solved/closed) while the ticket is solved or closed: they neither
  meet nor breach then. A Pause ends when the clock counts again (pending 09:10-09:40: due 10:30);
  a clock that stops while paused keeps the pause open (ended_at None): it never resumed.
- elapsed: business_elapsed_s is the policy calendar's business time of the counting stretches,
  calendar_elapsed_s their wall time; remaining_s = target - elapsed in the target's own time
  (business, or calendar when `business_hours` is False), negative once past due.
- state: met if it stopped at or before its due instant; breached once the due instant passed while it
  counted (breached_at = that instant), stopped or not; else running or paused. A stopped clock's
  due_at is its last due instant; warn_at is when elapsed reaches target - warn_before_s (or
  warn_percent of the target), in the target's own time; for a stopped clock only if it got there.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.sla.domain import business_time
from services.sla.domain.model import (
    METRICS,
    Calendar,
    ClockState,
    MetricClock,
    Pause,
    Policy,
    SlaConfig,
    SlaFacts,
    Target,
    TicketSla,
    Transition,
)
from services.sla.domain.policies import apply, select
from shared.events.base import Event
from shared.events.routing import TicketPriorityRaised, TicketQueueChanged, TicketRouted
from shared.events.sla import Metric
from shared.events.tickets import (
    MessageAdded,
    Status,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

__all__ = ["evaluate", "order", "targets_hash", "timestamp", "transitions", "wake_times"]

# ties at one instant: the ticket exists first, its facts change, then messages, then the status
_KIND_ORDER: dict[type[Event], int] = {
    TicketReceived: 0,
    TicketPriorityChanged: 1,
    TicketPriorityRaised: 2,
    TicketFieldsChanged: 3,
    TicketRouted: 4,
    TicketQueueChanged: 5,
    MessageAdded: 6,
    TicketStatusChanged: 7,
}
_OTHER_KIND = len(_KIND_ORDER)
_DONE: frozenset[Status] = frozenset({"solved", "closed"})
_ZERO = timedelta(0)


_STAMP_FIELDS: dict[type[Event], str] = {}


def timestamp(event: Event) -> datetime:
    """When the event happened: its own `*_at` field (received_at, added_at, changed_at, ...)."""
    kind = type(event)
    if kind not in _STAMP_FIELDS:
        names = [n for n in kind.model_fields if n.endswith("_at") and n != "expires_at"]
        if not names:
            raise TypeError(f"{kind.__name__} has no timestamp field")
        _STAMP_FIELDS[kind] = names[0]
    value = getattr(event, _STAMP_FIELDS[kind])
    if not isinstance(value, datetime):
        raise TypeError(f"{kind.__name__}.{_STAMP_FIELDS[kind]} is not a datetime")
    return value


def order(history: Iterable[Event]) -> list[Event]:
    """The events by their own timestamps, ties by kind then canonical JSON; equal events once."""
    unique: dict[tuple[datetime, int, str, str], Event] = {}
    for event in history:
        canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, default=str)
        kind = _KIND_ORDER.get(type(event), _OTHER_KIND)
        unique[(timestamp(event), kind, type(event).__name__, canonical)] = event
    return [unique[key] for key in sorted(unique)]


def targets_hash(targets: Sequence[Target]) -> str:
    """A short stable digest of a policy's targets (the same in every process)."""
    text = json.dumps([t.model_dump(mode="json") for t in targets], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class _Span:
    """Where a clock lives: from `start` to `stop` (None: not stopped by an event)."""

    metric: Metric
    cycle: int
    start: datetime
    stop: datetime | None


@dataclass(slots=True)
class _Timeline:
    """What evaluate needs from the ordered events."""

    facts: list[tuple[datetime, SlaFacts]]
    statuses: list[tuple[datetime, Status]]
    spans: list[_Span]


def _timeline(events: Sequence[Event], received: TicketReceived) -> _Timeline:
    facts: SlaFacts | None = None
    line = _Timeline(facts=[], statuses=[(received.received_at, "new")], spans=[])
    status: Status = "new"
    first_reply: datetime | None = None
    replied = False
    next_open: _Span | None = None
    periodic_open: _Span | None = None
    closed: list[_Span] = []
    cycles = {"next_reply": 0, "periodic_update": 0}
    for event in events:
        if getattr(event, "ticket_id", None) != received.ticket_id:
            continue
        before = facts
        facts = apply(facts, event)
        if facts is None:
            continue
        at = timestamp(event)
        if facts is not before:
            line.facts.append((at, facts))
        if isinstance(event, TicketStatusChanged):
            status = event.new_status
            line.statuses.append((at, status))
        if not isinstance(event, MessageAdded) or not event.public:
            continue
        if event.author_kind == "agent":
            replied = True
            first_reply = first_reply or at
            if next_open is not None:
                closed.append(_Span("next_reply", next_open.cycle, next_open.start, at))
                next_open = None
            if status not in _DONE:
                if periodic_open is not None:
                    closed.append(_Span("periodic_update", periodic_open.cycle, periodic_open.start, at))
                cycles["periodic_update"] += 1
                periodic_open = _Span("periodic_update", cycles["periodic_update"], at, None)
        elif event.author_kind == "customer" and replied and next_open is None:
            cycles["next_reply"] += 1
            next_open = _Span("next_reply", cycles["next_reply"], at, None)
    line.spans = [
        _Span("first_reply", 0, received.received_at, first_reply),
        *closed,
        *(s for s in (next_open, periodic_open) if s is not None),
        _Span("resolution", 0, received.received_at, None),
    ]
    return line


@dataclass(slots=True)
class _Walk:
    """A clock's life cut by the status timeline: counting segments (end None: still counting now)."""

    running: list[tuple[datetime, datetime | None]]
    pauses: list[Pause]
    stopped_at: datetime | None


def _walk(span: _Span, statuses: Sequence[tuple[datetime, Status]], pause_on: Iterable[Status]) -> _Walk:
    resolution = span.metric == "resolution"
    pausing = set(pause_on) | (set() if resolution else set(_DONE))
    times = [t for t, _ in statuses]
    status = statuses[max(bisect_right(times, span.start) - 1, 0)][1]
    pieces: list[tuple[datetime, Status]] = [(span.start, status)]
    for at, new in statuses[bisect_right(times, span.start) :]:
        if span.stop is not None and at >= span.stop:
            break
        if at == pieces[-1][0]:
            pieces[-1] = (at, new)
        else:
            pieces.append((at, new))
    walk = _Walk(running=[], pauses=[], stopped_at=span.stop)
    pause: tuple[str, datetime] | None = None
    off_since: datetime | None = None
    for i, (at, st) in enumerate(pieces):
        end = pieces[i + 1][0] if i + 1 < len(pieces) else span.stop
        if resolution and st in _DONE:
            off_since = off_since or at
            continue
        off_since = None
        if st in pausing:
            pause = pause or (st, at)
            continue
        if pause is not None:
            walk.pauses.append(Pause(reason=pause[0], started_at=pause[1], ended_at=at))
            pause = None
        if end is None or end > at:
            walk.running.append((at, end))
    if pause is not None:
        walk.pauses.append(Pause(reason=pause[0], started_at=pause[1]))
    if resolution:
        walk.stopped_at = off_since
    return walk


class _Meter:
    """Elapsed and due arithmetic for one clock in its target's own time."""

    def __init__(
        self, target: Target, calendar: Calendar, memo: dict[tuple[int, datetime, datetime], timedelta]
    ) -> None:
        self.target, self.calendar, self.memo = target, calendar, memo

    def business(self, start: datetime, end: datetime) -> timedelta:
        # clocks share their stretches, and business time is the costly part of an evaluation
        key = (id(self.calendar), start, end)
        if key not in self.memo:
            self.memo[key] = business_time.elapsed(self.calendar, start, end)
        return self.memo[key]

    def own(self, start: datetime, end: datetime) -> timedelta:
        return self.business(start, end) if self.target.business_hours else end - start

    def add(self, start: datetime, duration: timedelta) -> datetime | None:
        if not self.target.business_hours:
            return start + duration
        try:
            return business_time.add(self.calendar, start, duration)
        except business_time.NeverOpen:
            return None

    def reach(
        self, segments: Sequence[tuple[datetime, datetime | None]], amount: timedelta, *, extend_last: bool = False
    ) -> datetime | None:
        """The instant own elapsed reaches `amount` (an open segment, or the last if extended, runs on)."""
        done = _ZERO
        for i, (start, end) in enumerate(segments):
            need = amount - done
            if end is None or (extend_last and i == len(segments) - 1):
                return self.add(start, need)
            took = self.own(start, end)
            if took >= need:
                return self.add(start, need)
            done += took
        return None


def _warn_amount(target: Target) -> timedelta | None:
    if target.warn_before_s is not None:
        if target.warn_before_s >= target.target_s:
            return None
        return timedelta(seconds=target.target_s - target.warn_before_s)
    if target.warn_percent is not None:
        return timedelta(seconds=target.target_s * target.warn_percent / 100)
    return None


def _clock(span: _Span, walk: _Walk, target: Target, meter: _Meter, now: datetime) -> MetricClock:
    closed = [(s, e if e is not None else now) for s, e in walk.running]
    business = sum((meter.business(s, e) for s, e in closed), _ZERO)
    wall = sum((e - s for s, e in closed), _ZERO)
    own = business if target.business_hours else wall
    goal = timedelta(seconds=target.target_s)
    warn_amount = _warn_amount(target)
    counting = walk.stopped_at is None and bool(walk.running) and walk.running[-1][1] is None
    breached_at: datetime | None
    if walk.stopped_at is not None:
        passed = meter.reach(walk.running, goal)
        breached_at = passed if passed is not None and passed < walk.stopped_at else None
        due = breached_at or (meter.reach(walk.running, goal, extend_last=True) if walk.running else None)
        warned = meter.reach(walk.running, warn_amount) if warn_amount is not None else None
        warn = warned if warned is not None and warned < walk.stopped_at else None
        state: ClockState = "breached" if breached_at else "met"
    elif counting:
        due = meter.reach(walk.running, goal)
        breached_at = due if due is not None and due <= now else None
        warn = meter.reach(walk.running, warn_amount) if warn_amount is not None else None
        state = "breached" if breached_at else "running"
    else:
        breached_at = meter.reach(walk.running, goal)
        due = None
        warn = meter.reach(walk.running, warn_amount) if warn_amount is not None else None
        state = "breached" if breached_at else "paused"
    return MetricClock(
        metric=span.metric,
        cycle=span.cycle,
        target_s=target.target_s,
        business_hours=target.business_hours,
        started_at=span.start,
        due_at=due,
        warn_at=warn,
        state=state,
        stopped_at=walk.stopped_at,
        breached_at=breached_at,
        business_elapsed_s=int(business.total_seconds()),
        calendar_elapsed_s=int(wall.total_seconds()),
        remaining_s=target.target_s - int(own.total_seconds()),
        pauses=tuple(walk.pauses),
    )


def _calendar(config: SlaConfig, policy: Policy) -> Calendar:
    if policy.calendar_id is None:
        return business_time.ALWAYS_OPEN
    return config.calendars.get(policy.calendar_id, business_time.ALWAYS_OPEN)


def _target(policy: Policy | None, metric: Metric) -> Target | None:
    if policy is None:
        return None
    return next((t for t in policy.targets if t.metric == metric), None)


def _selector(config: SlaConfig, facts: list[tuple[datetime, SlaFacts]]) -> Callable[[datetime], Policy | None]:
    times = [t for t, _ in facts]
    cache: dict[SlaFacts, Policy | None] = {}

    def policy_at(instant: datetime) -> Policy | None:
        current = facts[max(bisect_right(times, instant) - 1, 0)][1]
        if current not in cache:
            cache[current] = select(config, current)
        return cache[current]

    return policy_at


def _applied_at(facts: list[tuple[datetime, SlaFacts]], policy_at: Callable[[datetime], Policy | None]) -> datetime:
    def selection(instant: datetime) -> tuple[str, tuple[Target, ...]] | None:
        policy = policy_at(instant)
        return None if policy is None else (policy.id, policy.targets)

    latest = selection(facts[-1][0])
    since = facts[-1][0]
    for at, _ in reversed(facts):
        if selection(at) != latest:
            break
        since = at
    return since


def evaluate(history: Sequence[Event], config: SlaConfig, now: datetime) -> TicketSla | None:
    """The ticket's SLA as of `now`, from its events up to `now`; None without a TicketReceived."""
    events = [e for e in order(history) if timestamp(e) <= now]
    received = next((e for e in events if isinstance(e, TicketReceived)), None)
    if received is None:
        return None
    line = _timeline(events, received)
    policy_at = _selector(config, line.facts)
    policy = policy_at(now)
    clocks: list[MetricClock] = []
    memo: dict[tuple[int, datetime, datetime], timedelta] = {}
    for span in line.spans:
        # the stop instant for a reply clock is known; resolution's depends on the status only
        walk = _walk(span, line.statuses, policy.pause_on if policy else ())
        measuring = policy if walk.stopped_at is None else policy_at(walk.stopped_at)
        target = _target(measuring, span.metric)
        if measuring is None or target is None:
            continue
        if measuring is not policy:
            walk = _walk(span, line.statuses, measuring.pause_on)
        meter = _Meter(target, _calendar(config, measuring), memo)
        clocks.append(_clock(span, walk, target, meter, now))
    clocks.sort(key=lambda c: (METRICS.index(c.metric), c.cycle))
    return TicketSla(
        ticket_id=received.ticket_id,
        policy_id=policy.id if policy else None,
        policy_name=policy.name if policy else "",
        config_version=config.version,
        facts=line.facts[-1][1],
        clocks=tuple(clocks),
        as_of=now,
        targets=policy.targets if policy else (),
        applied_at=_applied_at(line.facts, policy_at) if policy else None,
    )


def _clock_transitions(clock: MetricClock, as_of: datetime) -> list[Transition]:
    prefix = f"{clock.metric}:{clock.cycle}"
    found: list[Transition] = []
    if clock.warn_at is not None and clock.warn_at <= as_of:
        found.append(Transition(kind="warning", key=f"{prefix}:warning", at=clock.warn_at, clock=clock))
    if clock.breached_at is not None:
        found.append(Transition(kind="breached", key=f"{prefix}:breached", at=clock.breached_at, clock=clock))
    if clock.state == "met" and clock.stopped_at is not None:
        found.append(Transition(kind="met", key=f"{prefix}:met", at=clock.stopped_at, clock=clock))
    if clock.state == "breached" and clock.stopped_at is not None:
        # a breach is announced at the due instant; this says how long the clock really ran when it stopped
        key = f"{prefix}:stopped:{clock.stopped_at.isoformat()}"
        found.append(Transition(kind="stopped", key=key, at=clock.stopped_at, clock=clock))
    for pause in clock.pauses:
        found.append(
            Transition(
                kind="paused",
                key=f"{prefix}:paused:{pause.started_at.isoformat()}",
                at=pause.started_at,
                clock=clock,
                reason=pause.reason,
            )
        )
        if pause.ended_at is not None:
            found.append(
                Transition(
                    kind="resumed",
                    key=f"{prefix}:resumed:{pause.ended_at.isoformat()}",
                    at=pause.ended_at,
                    clock=clock,
                    reason=pause.reason,
                )
            )
    return found


def transitions(sla: TicketSla) -> list[Transition]:
    """Everything that has happened by `sla.as_of`, each under a stable unique key, in time order."""
    found: list[Transition] = []
    if sla.policy_id is not None:
        applied_at = sla.applied_at or sla.as_of
        # the instant is in the key, so a ticket that goes back to an earlier policy (A, B, A) hears of it again
        found.append(
            Transition(
                kind="applied",
                key=f"applied:{sla.config_version}:{sla.policy_id}:{targets_hash(sla.targets)}:{applied_at.isoformat()}",
                at=applied_at,
            )
        )
    for clock in sla.clocks:
        found += _clock_transitions(clock, sla.as_of)
    return sorted(found, key=lambda t: (t.at, t.key))


def wake_times(sla: TicketSla) -> tuple[datetime, ...]:
    """Future instants at which a running clock warns or breaches: evaluate the ticket again then."""
    instants = {
        at
        for clock in sla.clocks
        if clock.state == "running"
        for at in (clock.warn_at, clock.due_at)
        if at is not None and at > sla.as_of
    }
    return tuple(sorted(instants))
