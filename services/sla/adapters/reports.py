"""The SLA report in SQL, over `outcomes` (clocks) and `tickets` (ticket counts): the same numbers
`domain.report.summarise` computes from TicketSlas, without loading them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.sla.domain.report import GroupBy

GROUP_BY: tuple[GroupBy, ...] = ("priority", "channel", "tier", "queue", "brand")
PERCENTILE_METRICS = ("first_reply", "resolution")

# the group's column is picked from this fixed list, never from the request's text
_CLOCKS = """
    select {column} as grp, metric,
           count(*) filter (where state = 'met') as achieved,
           count(*) filter (where state = 'breached') as breached,
           percentile_cont(0.5) within group (order by business_elapsed_s)
               filter (where stopped_at is not null) as median_s,
           percentile_cont(0.9) within group (order by business_elapsed_s)
               filter (where stopped_at is not null) as p90_s
    from sla.outcomes
    where received_at >= :start and received_at < :end
    group by 1, 2
"""
_TICKETS = """
    select sla -> 'facts' ->> '{column}' as grp, count(*) as tickets
    from sla.tickets
    where received_at >= :start and received_at < :end and sla is not null
    group by 1
"""


def _group_key(name: str | None) -> tuple[bool, str]:
    return (name is None, name or "")


async def sla_report(session: AsyncSession, start: datetime, end: datetime, group_by: GroupBy) -> list[dict[str, Any]]:
    """One entry per group (sorted by name, None last), shaped like `domain.report.GroupReport`."""
    if group_by not in GROUP_BY:
        raise ValueError(f"cannot group by {group_by!r}")
    params = {"start": start, "end": end}
    groups: dict[str | None, dict[str, Any]] = {}
    for row in await session.execute(text(_TICKETS.format(column=group_by)), params):
        groups[row.grp] = _empty(row.grp, row.tickets)
    for row in await session.execute(text(_CLOCKS.format(column=group_by)), params):
        group = groups.setdefault(row.grp, _empty(row.grp, 0))
        group["by_metric"][row.metric] = {"achieved": row.achieved, "breached": row.breached}
        group["achieved"] += row.achieved
        group["breached"] += row.breached
        if row.metric in PERCENTILE_METRICS:
            group[f"{row.metric}_median_s"] = row.median_s
            group[f"{row.metric}_p90_s"] = row.p90_s
    for group in groups.values():
        decided = group["achieved"] + group["breached"]
        group["adherence_percent"] = round(100 * group["achieved"] / decided, 1) if decided else None
    return [groups[name] for name in sorted(groups, key=_group_key)]


def _empty(name: str | None, tickets: int) -> dict[str, Any]:
    return {
        "group": name,
        "tickets": tickets,
        "achieved": 0,
        "breached": 0,
        "adherence_percent": None,
        "by_metric": {},
        **{f"{metric}_{stat}_s": None for metric in PERCENTILE_METRICS for stat in ("median", "p90")},
    }
