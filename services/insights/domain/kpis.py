"""The managers' KPIs: pure functions of projected facts, one row per group and time window.

Every function takes the facts, the windows of the range (`windows.windows`) and a `group_by`
(a ticket's `channel`, `brand`, `queue`, `priority`, `tier`, or `agent` = the last agent who held
it; None = everything in one group), and returns rows `{"group", "bucket", ...fields}`. Groups are
a ticket's values as they are now (a ticket moved from triage to billing counts in billing).
Percentages are rounded to 0.01 and None when there is nothing to divide by; durations are
seconds. Each docstring names the events its facts come from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, TypeVar

from services.insights.domain.model import AgentFacts, Assignment, Clock, Escalation, TicketFacts
from services.insights.domain.windows import Window, grouped, percent, percentile_cont, seconds

Row = dict[str, Any]
T = TypeVar("T")
FCR_WINDOW = timedelta(days=7)


def _rows(
    items: Sequence[T],
    windows: Sequence[Window],
    key: Callable[[T], str | None],
    compute: Callable[[list[T], Window], Row],
) -> list[Row]:
    groups = grouped(items, key) or [(None, [])]
    return [{"group": group, "bucket": w.bucket, **compute(members, w)} for group, members in groups for w in windows]


def _by(group_by: str | None) -> Callable[[TicketFacts], str | None]:
    return lambda t: t.group(group_by)


def _stats(values: list[float], name: str) -> Row:
    return {f"median_{name}_s": percentile_cont(values, 0.5), f"p90_{name}_s": percentile_cont(values, 0.9)}


def _durations(business: Iterable[float | None], calendar: Iterable[float | None]) -> Row:
    b = [float(v) for v in business if v is not None]
    c = [float(v) for v in calendar if v is not None]
    return {**_stats(b, "business"), **_stats(c, "calendar")}


def volume(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """created: tickets received in the window (`ticket.received`); solved: times a ticket became
    solved or closed from an unresolved status in it; reopened: times one left solved for an open
    status (`ticket.status_changed`); backlog: tickets received before the window's end and not
    solved or closed at that instant."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        return {
            "created": sum(1 for t in members if w.holds(t.created_at)),
            "solved": sum(1 for t in members for r in t.resolutions if w.holds(r)),
            "reopened": sum(1 for t in members for r in t.reopens if w.holds(r)),
            "backlog": sum(1 for t in members if backlog_at(t, w.end)),
        }

    return _rows(tickets, windows, _by(group_by), compute)


def backlog_at(ticket: TicketFacts, instant: datetime) -> bool:
    """Received before `instant` and not solved or closed just before it."""
    if ticket.created_at is None or ticket.created_at >= instant:
        return False
    done = sum(1 for r in ticket.resolutions if r < instant)
    undone = sum(1 for r in ticket.reopens if r < instant)
    return done <= undone


def first_reply(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """Tickets whose first public agent reply (`ticket.message_added`, author agent, public) is in the
    window. Calendar: that reply's time minus `ticket.received`'s, wall clock. Business: the sla
    service's first-reply clock when it stopped (`sla.met`, or `sla.clock_stopped` for one that
    stopped after breaching): business hours of the ticket's policy, pauses left out; tickets
    without an SLA policy have no business figure."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        replied = [t for t in members if w.holds(t.first_reply_at)]
        calendar = [seconds(t.first_reply_at, t.created_at) for t in replied]
        return {"tickets": len(replied), **_durations((t.first_reply_business_s for t in replied), calendar)}

    return _rows(tickets, windows, _by(group_by), compute)


def resolution(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """Tickets solved or closed now whose last resolution (`ticket.status_changed` to solved/closed) is
    in the window. Calendar: that instant minus `ticket.received`'s (wall clock, pending time
    included). Business: the resolution clock when it last stopped (`sla.met`/`sla.clock_stopped`)."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        solved = [t for t in members if not t.open and w.holds(t.last_resolved_at)]
        calendar = [seconds(t.last_resolved_at, t.created_at) for t in solved]
        return {"tickets": len(solved), **_durations((t.resolution_business_s for t in solved), calendar)}

    return _rows(tickets, windows, _by(group_by), compute)


def sla(clocks: Sequence[tuple[TicketFacts, Clock]], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """Clocks of every metric decided in the window: met at their stop (`sla.met` / `sla.clock_stopped`
    not breached), breached at their due instant (`sla.breached`). Adherence = met / (met + breached)."""

    def decided_at(clock: Clock) -> datetime | None:
        return clock.breached_at if clock.state == "breached" else clock.stopped_at if clock.state == "met" else None

    def compute(members: list[tuple[TicketFacts, Clock]], w: Window) -> Row:
        met = sum(1 for _, c in members if c.state == "met" and w.holds(decided_at(c)))
        breached = sum(1 for _, c in members if c.state == "breached" and w.holds(decided_at(c)))
        return {"met": met, "breached": breached, "adherence_percent": percent(met, met + breached)}

    return _rows(clocks, windows, lambda pair: pair[0].group(group_by), compute)


def escalations(
    tickets: Sequence[TicketFacts],
    opened: Mapping[str, Sequence[Escalation]],
    windows: Sequence[Window],
    group_by: str | None,
) -> list[Row]:
    """created: tickets received in the window; escalated: those of them with at least one escalation
    (`escalation.opened`, at any time); escalation_rate = escalated / created; opened: escalations
    opened in the window (`escalation.opened`), whichever day their ticket came in."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        created = [t for t in members if w.holds(t.created_at)]
        escalated = sum(1 for t in created if t.escalated)
        count = sum(1 for t in members for e in opened.get(t.ticket_id, ()) if w.holds(e.opened_at))
        return {
            "created": len(created),
            "escalated": escalated,
            "escalation_rate_percent": percent(escalated, len(created)),
            "opened": count,
        }

    return _rows(tickets, windows, _by(group_by), compute)


def open_escalations_by_level(open_now: Iterable[Escalation]) -> dict[str, int]:
    """Escalations not resolved (`escalation.resolved`), by the highest level reached
    (`escalation.level_reached`; "0" = opened, no level fired yet)."""
    found: dict[str, int] = {}
    for e in open_now:
        if e.resolved_at is None:
            found[str(e.level)] = found.get(str(e.level), 0) + 1
    return dict(sorted(found.items(), key=lambda kv: int(kv[0])))


def fcr_outcome(ticket: TicketFacts, as_of: datetime) -> str | None:
    """`fcr`, `not_fcr` or `pending` for a solved ticket (None if never solved): first-contact resolved
    means its first resolution came after exactly one public agent reply and it was not reopened
    within 7 days of it; not reopened yet but solved less than 7 days before `as_of` is pending."""
    if not ticket.resolutions:
        return None
    first = ticket.resolutions[0]
    reopened = bool(ticket.reopens) and ticket.reopens[0] - first <= FCR_WINDOW
    if reopened or ticket.replies_before_first_solve != 1:
        return "not_fcr"
    return "pending" if as_of - first < FCR_WINDOW else "fcr"


def fcr(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None, as_of: datetime) -> list[Row]:
    """Tickets first solved in the window (`ticket.status_changed`), with public agent replies counted
    before it (`ticket.message_added`) and reopens after it: fcr_percent = fcr / (solved - pending);
    tickets solved less than 7 days ago and not reopened are pending and left out."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        outcomes = [fcr_outcome(t, as_of) for t in members if t.resolutions and w.holds(t.resolutions[0])]
        counted = sum(1 for o in outcomes if o != "pending")
        good = outcomes.count("fcr")
        return {
            "solved": len(outcomes),
            "pending": outcomes.count("pending"),
            "fcr": good,
            "fcr_percent": percent(good, counted),
        }

    return _rows(tickets, windows, _by(group_by), compute)


def csat(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """Tickets solved in the window (any resolution in it, `ticket.status_changed`) and their latest
    rating (`ticket.satisfaction_rated`, whenever given): csat = good / (good + bad); response rate =
    rated / solved."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        solved = [t for t in members if any(w.holds(r) for r in t.resolutions)]
        good = sum(1 for t in solved if t.csat == "good")
        bad = sum(1 for t in solved if t.csat == "bad")
        return {
            "solved": len(solved),
            "good": good,
            "bad": bad,
            "csat_percent": percent(good, good + bad),
            "response_rate_percent": percent(good + bad, len(solved)),
        }

    return _rows(tickets, windows, _by(group_by), compute)


def reopens(tickets: Sequence[TicketFacts], windows: Sequence[Window], group_by: str | None) -> list[Row]:
    """solved: resolutions in the window; reopened: reopens in it (`ticket.status_changed` from solved
    to an open status); reopen_rate = reopened / solved."""

    def compute(members: list[TicketFacts], w: Window) -> Row:
        solved = sum(1 for t in members for r in t.resolutions if w.holds(r))
        reopened = sum(1 for t in members for r in t.reopens if w.holds(r))
        return {"solved": solved, "reopened": reopened, "reopen_rate_percent": percent(reopened, solved)}

    return _rows(tickets, windows, _by(group_by), compute)


def _online(agent: AgentFacts, w: Window) -> list[tuple[datetime, datetime]]:
    """The parts of `w` the agent was online (`agent.status_changed`; unknown before the first = offline)."""
    spans = []
    timeline = list(agent.statuses)
    for i, (status, since) in enumerate(timeline):
        until = timeline[i + 1][1] if i + 1 < len(timeline) else w.end
        start, end = max(since, w.start), min(until, w.end)
        if status == "online" and start < end:
            spans.append((start, end))
    return spans


def _full_seconds(spans: list[tuple[datetime, datetime]], held: Sequence[Assignment], capacity: int) -> float:
    """Seconds within `spans` when the agent held at least `capacity` tickets."""
    total = 0.0
    for start, end in spans:
        points = sorted(
            {start, end}
            | {a.assigned_at for a in held if start < a.assigned_at < end}
            | {a.unassigned_at for a in held if a.unassigned_at is not None and start < a.unassigned_at < end}
        )
        for left, right in pairwise(points):
            load = sum(1 for a in held if a.assigned_at <= left and (a.unassigned_at is None or a.unassigned_at > left))
            if load >= capacity:
                total += (right - left).total_seconds()
    return total


def occupancy(
    agents: Sequence[AgentFacts],
    held: Mapping[str, Sequence[Assignment]],
    load_now: Mapping[str, int],
    windows: Sequence[Window],
    group_by: str | None,
) -> list[Row]:
    """Per agent (or all together): online_s (`agent.status_changed`), at_capacity_s = online time while
    holding at least the total capacity (`ticket.assigned` / `ticket.unassigned`, capacity from
    `agent.updated`), occupancy = at_capacity / online; assignments in the window (`ticket.assigned`);
    now: load (tickets held) against total capacity."""

    def compute(members: list[AgentFacts], w: Window) -> Row:
        online = at_capacity = 0.0
        known = True
        for agent in members:
            spans = _online(agent, w)
            online += sum((end - start).total_seconds() for start, end in spans)
            if agent.total_capacity is None or agent.total_capacity <= 0:
                known = False
                continue
            at_capacity += _full_seconds(spans, held.get(agent.agent_id, ()), agent.total_capacity)
        capacity = [a.total_capacity for a in members if a.total_capacity is not None]
        load = sum(load_now.get(a.agent_id, 0) for a in members)
        return {
            "online_s": online,
            "at_capacity_s": at_capacity if known and members else None,
            "occupancy_percent": percent(at_capacity, online) if known else None,
            "assignments": sum(1 for a in members for x in held.get(a.agent_id, ()) if w.holds(x.assigned_at)),
            "load": load,
            "capacity": sum(capacity) if len(capacity) == len(members) and members else None,
            "load_percent": percent(load, sum(capacity)) if len(capacity) == len(members) else None,
        }

    key: Callable[[AgentFacts], str | None] = (lambda a: a.agent_id) if group_by == "agent" else (lambda a: None)
    return _rows(agents, windows, key, compute)
