"""Every write of the insights projections: stored events, and the rows recomputed from them.

A ticket's rows are replaced whole under the lock on its `tickets` row; an agent's under the lock on
its `agents` row. Every projection transaction holds the shared rebuild lock, so a rebuild (which
takes it exclusively) never interleaves with one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.adapters.tables import (
    agent_events,
    agents,
    assignments,
    escalations,
    projection_state,
    queues,
    sla_clocks,
    ticket_events,
    tickets,
)
from services.insights.domain.model import AgentFacts, TicketProjection
from services.insights.domain.projection import Stored
from shared.events import Event
from shared.events.catalogue import from_payload
from shared.rebuild import REBUILD_LOCK


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold_rebuild_lock(self) -> None:
        await self.session.execute(text("select pg_advisory_xact_lock_shared(:key)"), {"key": REBUILD_LOCK})

    async def generation(self) -> int:
        found = (await self.session.execute(select(projection_state.c.generation))).scalar()
        return int(found or 0)

    # -- tickets ---------------------------------------------------------------------------------

    async def add_ticket_event(self, event_id: str, ticket_id: str, event: Event, at: datetime) -> bool:
        stmt = (
            pg_insert(ticket_events)
            .values(
                event_id=event_id, ticket_id=ticket_id, type=event.TYPE, at=at, payload=event.model_dump(mode="json")
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(ticket_events.c.event_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def lock_ticket(self, ticket_id: str, now: datetime) -> None:
        await self.session.execute(
            pg_insert(tickets).values(ticket_id=ticket_id, updated_at=now).on_conflict_do_nothing()
        )
        await self.session.execute(
            select(tickets.c.ticket_id).where(tickets.c.ticket_id == ticket_id).with_for_update()
        )

    async def ticket_history(self, ticket_id: str) -> list[Stored]:
        rows = await self.session.execute(
            select(ticket_events.c.event_id, ticket_events.c.at, ticket_events.c.type, ticket_events.c.payload).where(
                ticket_events.c.ticket_id == ticket_id
            )
        )
        return [Stored(event_id, at, from_payload(type_name, payload)) for event_id, at, type_name, payload in rows]

    async def save_ticket(self, projection: TicketProjection, now: datetime) -> None:
        facts = projection.facts
        ticket_id = facts.ticket_id
        await self.session.execute(
            update(tickets)
            .where(tickets.c.ticket_id == ticket_id)
            .values(
                reference=facts.reference,
                channel=facts.channel,
                brand=facts.brand,
                queue=facts.queue,
                priority=facts.priority,
                tier=facts.tier,
                status=facts.status,
                created_at=facts.created_at,
                first_reply_at=facts.first_reply_at,
                public_replies=facts.public_replies,
                replies_before_first_solve=facts.replies_before_first_solve,
                resolutions=[r.isoformat() for r in facts.resolutions],
                reopens=[r.isoformat() for r in facts.reopens],
                last_resolved_at=facts.last_resolved_at,
                open=facts.open,
                csat=facts.csat,
                rated_at=facts.rated_at,
                agent_id=facts.agent_id,
                last_agent_id=facts.last_agent_id,
                waiting_since=facts.waiting_since,
                first_reply_business_s=facts.first_reply_business_s,
                resolution_business_s=facts.resolution_business_s,
                escalated=facts.escalated,
                updated_at=now,
            )
        )
        for table in (assignments, sla_clocks, escalations):
            await self.session.execute(delete(table).where(table.c.ticket_id == ticket_id))
        if projection.assignments:
            await self.session.execute(
                insert(assignments),
                [
                    {"ticket_id": ticket_id, "agent_id": a.agent_id, "assigned_at": a.assigned_at,
                     "unassigned_at": a.unassigned_at}
                    for a in projection.assignments
                ],
            )  # fmt: skip
        if projection.clocks:
            await self.session.execute(
                insert(sla_clocks),
                [
                    {"ticket_id": ticket_id, "metric": c.metric, "cycle": c.cycle, "state": c.state,
                     "target_s": c.target_s, "due_at": c.due_at, "breached_at": c.breached_at,
                     "stopped_at": c.stopped_at, "business_elapsed_s": c.business_elapsed_s,
                     "calendar_elapsed_s": c.calendar_elapsed_s}
                    for c in projection.clocks
                ],
            )  # fmt: skip
        if projection.escalations:
            await self.session.execute(
                pg_insert(escalations).on_conflict_do_nothing(),
                [
                    {"escalation_id": e.escalation_id, "ticket_id": ticket_id, "policy_id": e.policy_id,
                     "trigger": e.trigger, "opened_at": e.opened_at, "level": e.level,
                     "acknowledged_at": e.acknowledged_at, "resolved_at": e.resolved_at}
                    for e in projection.escalations
                ],
            )  # fmt: skip

    # -- agents and queues -----------------------------------------------------------------------

    async def add_agent_event(self, event_id: str, agent_id: str, event: Event, at: datetime) -> bool:
        stmt = (
            pg_insert(agent_events)
            .values(event_id=event_id, agent_id=agent_id, type=event.TYPE, at=at, payload=event.model_dump(mode="json"))
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(agent_events.c.event_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def lock_agent(self, agent_id: str, now: datetime) -> None:
        await self.session.execute(pg_insert(agents).values(agent_id=agent_id, updated_at=now).on_conflict_do_nothing())
        await self.session.execute(select(agents.c.agent_id).where(agents.c.agent_id == agent_id).with_for_update())

    async def agent_history(self, agent_id: str) -> list[Stored]:
        rows = await self.session.execute(
            select(agent_events.c.event_id, agent_events.c.at, agent_events.c.type, agent_events.c.payload).where(
                agent_events.c.agent_id == agent_id
            )
        )
        return [Stored(event_id, at, from_payload(type_name, payload)) for event_id, at, type_name, payload in rows]

    async def save_agent(self, facts: AgentFacts, now: datetime) -> None:
        await self.session.execute(
            update(agents)
            .where(agents.c.agent_id == facts.agent_id)
            .values(
                name=facts.name,
                team=facts.team,
                status=facts.status,
                status_since=facts.status_since,
                capacity=dict(facts.capacity) if facts.capacity is not None else None,
                total_capacity=facts.total_capacity,
                statuses=[[status, since.isoformat()] for status, since in facts.statuses],
                updated_at=now,
            )
        )

    async def put_queue(self, queue: str, deleted: bool, updated_at: datetime) -> None:
        """Keep the newest announcement of a queue (an older one arriving late changes nothing)."""
        stmt = pg_insert(queues).values(queue=queue, deleted=deleted, updated_at=updated_at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["queue"],
                set_={"deleted": deleted, "updated_at": updated_at},
                where=queues.c.updated_at < updated_at,
            )
        )
