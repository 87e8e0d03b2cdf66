"""SLA report summaries over evaluated tickets, for the what-if replay; the live report's SQL agrees.

Per group: tickets counted once each, met clocks (achieved) and breached clocks of every metric and
cycle, adherence = achieved / (achieved + breached) in percent to one decimal (None without either),
counts per metric (only metrics with a met or breached clock), and the median and 90th percentile
of the business seconds of STOPPED first reply and resolution clocks, interpolated like
PostgreSQL's `percentile_cont`. Groups are sorted by name, the group without a value (None) last;
with `group_by=None` there is one group, None, even for no tickets (like an aggregate without
GROUP BY).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.sla.domain.model import METRICS, TicketSla

__all__ = ["GroupBy", "GroupReport", "MetricCounts", "percentile_cont", "summarise"]

GroupBy = Literal["priority", "channel", "tier", "queue", "brand"]


class MetricCounts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    achieved: int = 0
    breached: int = 0


class GroupReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str | None
    tickets: int
    achieved: int
    breached: int
    adherence_percent: float | None
    by_metric: dict[str, MetricCounts]
    first_reply_median_s: float | None
    first_reply_p90_s: float | None
    resolution_median_s: float | None
    resolution_p90_s: float | None


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the two nearest ranks, as PostgreSQL's percentile_cont does."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _percent(part: int, whole: int) -> float | None:
    """part/whole in percent to one decimal, halves rounded up like PostgreSQL's round(numeric, 1)."""
    if whole == 0:
        return None
    return ((2000 * part + whole) // (2 * whole)) / 10


def _group_of(sla: TicketSla, group_by: GroupBy | None) -> str | None:
    if group_by is None:
        return None
    facts = sla.facts
    value = {
        "priority": facts.priority,
        "channel": facts.channel,
        "tier": facts.tier,
        "queue": facts.queue,
        "brand": facts.brand,
    }[group_by]
    return value


def _report(group: str | None, slas: Sequence[TicketSla]) -> GroupReport:
    counts = {metric: [0, 0] for metric in METRICS}
    stopped: dict[str, list[float]] = {"first_reply": [], "resolution": []}
    for sla in slas:
        for clock in sla.clocks:
            if clock.state == "met":
                counts[clock.metric][0] += 1
            elif clock.state == "breached":
                counts[clock.metric][1] += 1
            if clock.stopped_at is not None and clock.metric in stopped:
                stopped[clock.metric].append(clock.business_elapsed_s)
    achieved = sum(a for a, _ in counts.values())
    breached = sum(b for _, b in counts.values())
    return GroupReport(
        group=group,
        tickets=len(slas),
        achieved=achieved,
        breached=breached,
        adherence_percent=_percent(achieved, achieved + breached),
        by_metric={m: MetricCounts(achieved=a, breached=b) for m, (a, b) in counts.items() if a or b},
        first_reply_median_s=percentile_cont(stopped["first_reply"], 0.5),
        first_reply_p90_s=percentile_cont(stopped["first_reply"], 0.9),
        resolution_median_s=percentile_cont(stopped["resolution"], 0.5),
        resolution_p90_s=percentile_cont(stopped["resolution"], 0.9),
    )


def summarise(slas: Iterable[TicketSla], group_by: GroupBy | None) -> list[GroupReport]:
    """One report per group of tickets, sorted by group name (None last)."""
    groups: dict[str | None, list[TicketSla]] = {} if group_by else {None: []}
    for sla in slas:
        groups.setdefault(_group_of(sla, group_by), []).append(sla)
    names = sorted(groups, key=lambda g: (g is None, g or ""))
    return [_report(name, groups[name]) for name in names]
