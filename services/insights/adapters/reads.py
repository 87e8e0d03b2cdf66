"""Every read of the insights projections: the facts a range's KPIs need, and the live views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.adapters.tables import agents, assignments, escalations, queues, sla_clocks, tickets
from services.insights.domain.model import AgentFacts, Assignment, Clock, Escalation, TicketFacts


def _instants(values: Sequence[str] | None) -> tuple[datetime, ...]:
    return tuple(datetime.fromisoformat(v) for v in values or ())


def _facts(row: Row[Any]) -> TicketFacts:
    return TicketFacts(
        ticket_id=row.ticket_id,
        reference=row.reference,
        channel=row.channel,
        brand=row.brand,
        queue=row.queue,
        priority=row.priority,
        tier=row.tier,
        status=row.status,
        created_at=row.created_at,
        first_reply_at=row.first_reply_at,
        public_replies=row.public_replies,
        replies_before_first_solve=row.replies_before_first_solve,
        resolutions=_instants(row.resolutions),
        reopens=_instants(row.reopens),
        csat=row.csat,
        rated_at=row.rated_at,
        agent_id=row.agent_id,
        last_agent_id=row.last_agent_id,
        waiting_since=row.waiting_since,
        first_reply_business_s=row.first_reply_business_s,
        resolution_business_s=row.resolution_business_s,
        escalated=row.escalated,
    )


def _touching(start: datetime, end: datetime) -> Any:
    """Tickets that can count in [start, end): received before its end and open now, or resolved,
    replied to or rated in it or later (a ticket resolved for good before `start` counts in nothing)."""
    return and_(
        tickets.c.created_at.is_not(None),
        tickets.c.created_at < end,
        or_(
            tickets.c.open,
            tickets.c.last_resolved_at >= start,
            tickets.c.first_reply_at >= start,
            tickets.c.created_at >= start,
        ),
    )


async def tickets_for(session: AsyncSession, start: datetime, end: datetime) -> list[TicketFacts]:
    rows = await session.execute(select(tickets).where(_touching(start, end)).order_by(tickets.c.ticket_id))
    return [_facts(row) for row in rows]


async def clocks_for(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[TicketFacts, Clock]]:
    """Clocks decided in [start, end) (met at their stop, breached at their due), with their ticket."""
    decided = or_(
        and_(sla_clocks.c.state == "met", sla_clocks.c.stopped_at >= start, sla_clocks.c.stopped_at < end),
        and_(sla_clocks.c.state == "breached", sla_clocks.c.breached_at >= start, sla_clocks.c.breached_at < end),
    )
    query = (
        select(tickets, *[c.label(f"clock_{c.name}") for c in sla_clocks.c if c.name != "ticket_id"])
        .join(sla_clocks, sla_clocks.c.ticket_id == tickets.c.ticket_id)
        .where(decided)
        .order_by(tickets.c.ticket_id, sla_clocks.c.metric, sla_clocks.c.cycle)
    )
    found = []
    for row in await session.execute(query):
        values = {
            name.removeprefix("clock_"): value for name, value in row._mapping.items() if name.startswith("clock_")
        }
        found.append((_facts(row), Clock(**values)))
    return found


def _escalation(row: Row[Any]) -> Escalation:
    return Escalation(
        escalation_id=row.escalation_id,
        policy_id=row.policy_id,
        trigger=row.trigger,
        opened_at=row.opened_at,
        level=row.level,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
    )


async def escalations_opened(session: AsyncSession, start: datetime, end: datetime) -> dict[str, list[Escalation]]:
    rows = await session.execute(
        select(escalations).where(escalations.c.opened_at >= start, escalations.c.opened_at < end)
    )
    found: dict[str, list[Escalation]] = defaultdict(list)
    for row in rows:
        found[row.ticket_id].append(_escalation(row))
    return dict(found)


async def open_escalations(session: AsyncSession) -> list[tuple[Escalation, str, str | None]]:
    """Escalations not resolved, oldest first, with their ticket id and reference."""
    rows = await session.execute(
        select(escalations, tickets.c.reference)
        .outerjoin(tickets, tickets.c.ticket_id == escalations.c.ticket_id)
        .where(escalations.c.resolved_at.is_(None))
        .order_by(escalations.c.opened_at, escalations.c.escalation_id)
    )
    return [(_escalation(row), row.ticket_id, row.reference) for row in rows]


def _agent(row: Row[Any]) -> AgentFacts:
    return AgentFacts(
        agent_id=row.agent_id,
        name=row.name,
        team=row.team,
        status=row.status,
        status_since=row.status_since,
        capacity=row.capacity,
        total_capacity=row.total_capacity,
        statuses=tuple((status, datetime.fromisoformat(since)) for status, since in row.statuses or ()),
    )


async def all_agents(session: AsyncSession) -> list[AgentFacts]:
    return [_agent(row) for row in await session.execute(select(agents).order_by(agents.c.agent_id))]


async def assignments_overlapping(session: AsyncSession, start: datetime, end: datetime) -> dict[str, list[Assignment]]:
    rows = await session.execute(
        select(assignments).where(
            assignments.c.assigned_at < end,
            or_(assignments.c.unassigned_at.is_(None), assignments.c.unassigned_at > start),
        )
    )
    found: dict[str, list[Assignment]] = defaultdict(list)
    for row in rows:
        found[row.agent_id].append(Assignment(row.agent_id, row.assigned_at, row.unassigned_at))
    return dict(found)


async def load_by_agent_and_channel(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Open tickets each agent holds now, per channel."""
    rows = await session.execute(
        select(tickets.c.agent_id, tickets.c.channel, func.count())
        .where(tickets.c.open, tickets.c.agent_id.is_not(None))
        .group_by(tickets.c.agent_id, tickets.c.channel)
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for agent_id, channel, count in rows:
        found[agent_id][channel or "unknown"] = int(count)
    return dict(found)


async def queue_rows(session: AsyncSession) -> list[tuple[str, int, datetime | None, int]]:
    """Per queue (known from `queue.updated` or holding open tickets): waiting, oldest wait start, assigned."""
    waiting = func.count().filter(tickets.c.agent_id.is_(None))
    rows = await session.execute(
        select(
            tickets.c.queue,
            waiting,
            func.min(tickets.c.waiting_since),
            func.count().filter(tickets.c.agent_id.is_not(None)),
        )
        .where(tickets.c.open, tickets.c.queue.is_not(None), tickets.c.created_at.is_not(None))
        .group_by(tickets.c.queue)
    )
    found = {queue: (queue, int(w), oldest, int(a)) for queue, w, oldest, a in rows}
    for (queue,) in await session.execute(select(queues.c.queue).where(queues.c.deleted.is_(False))):
        found.setdefault(queue, (queue, 0, None, 0))
    return [found[q] for q in sorted(found)]


async def running_clocks(session: AsyncSession, limit: int) -> list[tuple[Clock, TicketFacts]]:
    """Running clocks of open tickets, the earliest due first."""
    query = (
        select(tickets, *[c.label(f"clock_{c.name}") for c in sla_clocks.c if c.name != "ticket_id"])
        .join(sla_clocks, sla_clocks.c.ticket_id == tickets.c.ticket_id)
        .where(sla_clocks.c.state == "running", sla_clocks.c.due_at.is_not(None), tickets.c.open)
        .order_by(sla_clocks.c.due_at, tickets.c.ticket_id, sla_clocks.c.metric)
        .limit(limit)
    )
    return [(_clock_of(row), _facts(row)) for row in await session.execute(query)]


async def breached_since(session: AsyncSession, since: datetime, limit: int) -> list[tuple[Clock, TicketFacts]]:
    query = (
        select(tickets, *[c.label(f"clock_{c.name}") for c in sla_clocks.c if c.name != "ticket_id"])
        .join(sla_clocks, sla_clocks.c.ticket_id == tickets.c.ticket_id)
        .where(sla_clocks.c.state == "breached", sla_clocks.c.breached_at >= since)
        .order_by(sla_clocks.c.breached_at.desc(), tickets.c.ticket_id, sla_clocks.c.metric)
        .limit(limit)
    )
    return [(_clock_of(row), _facts(row)) for row in await session.execute(query)]


def _clock_of(row: Row[Any]) -> Clock:
    return Clock(**{name.removeprefix("clock_"): v for name, v in row._mapping.items() if name.startswith("clock_")})
