"""KPI and live answers: read the facts a question needs, then ask the pure KPI functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.adapters import reads
from services.insights.domain import kpis
from services.insights.domain.summary import summary
from services.insights.domain.windows import Interval, windows

KPIS = ("volume", "first-reply", "resolution", "sla", "escalations", "fcr", "csat", "occupancy", "reopens")
TICKET_GROUPS = ("channel", "brand", "queue", "priority", "tier")
GROUPS: dict[str, tuple[str, ...]] = {
    "volume": TICKET_GROUPS,
    "first-reply": (*TICKET_GROUPS, "agent"),
    "resolution": (*TICKET_GROUPS, "agent"),
    "sla": TICKET_GROUPS,
    "escalations": TICKET_GROUPS,
    "fcr": (*TICKET_GROUPS, "agent"),
    "csat": (*TICKET_GROUPS, "agent"),
    "occupancy": ("agent",),
    "reopens": (*TICKET_GROUPS, "agent"),
}


async def summary_of(session: AsyncSession, start: datetime, end: datetime, as_of: datetime) -> dict[str, Any]:
    tickets = await reads.tickets_for(session, start, end)
    clocks = await reads.clocks_for(session, start, end)
    opened = await reads.escalations_opened(session, start, end)
    open_now = [e for e, _, _ in await reads.open_escalations(session)]
    return summary(tickets, clocks, opened, open_now, start, end, as_of)


async def kpi_rows(
    session: AsyncSession,
    kpi: str,
    start: datetime,
    end: datetime,
    interval: Interval | None,
    group_by: str | None,
    as_of: datetime,
) -> list[dict[str, Any]]:
    cut = windows(start, end, interval)
    if kpi == "sla":
        return kpis.sla(await reads.clocks_for(session, start, end), cut, group_by)
    if kpi == "occupancy":
        agents = await reads.all_agents(session)
        held = await reads.assignments_overlapping(session, start, end)
        load = {
            agent: sum(channels.values())
            for agent, channels in (await reads.load_by_agent_and_channel(session)).items()
        }
        return kpis.occupancy(agents, held, load, cut, group_by)
    tickets = await reads.tickets_for(session, start, end)
    if kpi == "escalations":
        return kpis.escalations(tickets, await reads.escalations_opened(session, start, end), cut, group_by)
    if kpi == "fcr":
        return kpis.fcr(tickets, cut, group_by, as_of)
    simple = {
        "volume": kpis.volume,
        "first-reply": kpis.first_reply,
        "resolution": kpis.resolution,
        "csat": kpis.csat,
        "reopens": kpis.reopens,
    }
    return simple[kpi](tickets, cut, group_by)


def _age(now: datetime, since: datetime | None) -> float | None:
    return round((now - since).total_seconds(), 3) if since is not None else None


async def live_queues(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Open tickets per queue: waiting (no agent), the longest current wait, assigned."""
    return [
        {"queue": queue, "waiting": waiting, "oldest_wait_s": _age(now, oldest), "assigned": assigned}
        for queue, waiting, oldest, assigned in await reads.queue_rows(session)
    ]


async def live_agents(session: AsyncSession) -> list[dict[str, Any]]:
    loads = await reads.load_by_agent_and_channel(session)
    return [
        {
            "agent_id": a.agent_id,
            "name": a.name,
            "status": a.status,
            "status_since": a.status_since,
            "load": sum(loads.get(a.agent_id, {}).values()),
            "capacity": a.total_capacity,
            "load_by_channel": loads.get(a.agent_id, {}),
            "capacity_by_channel": dict(a.capacity) if a.capacity is not None else None,
        }
        for a in await reads.all_agents(session)
    ]


def _clock_rows(pairs: Sequence[tuple[Any, Any]], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "ticket_id": t.ticket_id,
            "reference": t.reference,
            "metric": c.metric,
            "cycle": c.cycle,
            "due_at": c.due_at,
            "seconds_to_breach": round((c.due_at - now).total_seconds(), 3) if c.due_at else None,
            "breached_at": c.breached_at,
            "priority": t.priority,
            "queue": t.queue,
            "agent_id": t.agent_id,
        }
        for c, t in pairs
    ]


async def sla_at_risk(session: AsyncSession, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Running clocks of open tickets, the soonest breach first (a negative time: due already passed)."""
    return _clock_rows(await reads.running_clocks(session, limit), now)


async def sla_breached_today(session: AsyncSession, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Clocks whose due passed since 00:00 UTC today, the latest first."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return _clock_rows(await reads.breached_since(session, midnight, limit), now)


async def live_escalations(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "escalation_id": e.escalation_id,
            "ticket_id": ticket_id,
            "reference": reference,
            "level": e.level,
            "trigger": e.trigger,
            "opened_at": e.opened_at,
            "acknowledged": e.acknowledged_at is not None,
            "age_s": _age(now, e.opened_at),
        }
        for e, ticket_id, reference in await reads.open_escalations(session)
    ]
