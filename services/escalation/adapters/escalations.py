"""Every query of the escalation lifecycle: policies, escalations and history, timers, facts, known queues.

Changes to one ticket's escalations run under a per-ticket advisory lock (`lock_ticket`), so
replicas handling the same ticket at once take turns; the partial unique index behind
`insert_escalation` is the last word on one open escalation per (ticket, policy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.adapters.codec import (
    escalation_from_row,
    escalation_to_row,
    policy_from_json,
    policy_to_json,
)
from services.escalation.adapters.escalation_tables import (
    escalation_history,
    escalations,
    known_queues,
    policies,
    policy_versions,
    ticket_facts,
    timers,
)
from services.escalation.domain.levels import Escalation, Step
from services.escalation.domain.policy import Policy

TIMERS_CHANNEL = "escalation_timers"  # NOTIFYed on commit whenever a timer is armed


@dataclass(frozen=True)
class Timer:
    id: str
    kind: str
    ticket_id: str
    escalation_id: str | None
    policy_id: str | None
    level: int | None
    due_at: datetime


class EscalationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_ticket(self, ticket_id: str) -> None:
        await self._session.execute(
            text("select pg_advisory_xact_lock(hashtextextended('escalation:' || :t, 0))"), {"t": ticket_id}
        )

    # known queues
    async def learn_queue(self, name: str, *, deleted: bool, updated_at: datetime) -> None:
        """Apply a queue announcement unless a newer one was applied already."""
        values = {"deleted": deleted, "updated_at": updated_at}
        stmt = pg_insert(known_queues).values(name=name, **values)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_=values, where=known_queues.c.updated_at <= stmt.excluded.updated_at
            )
        )

    async def known_queue_names(self) -> set[str]:
        rows = await self._session.execute(select(known_queues.c.name).where(known_queues.c.deleted.is_(False)))
        return set(rows.scalars())

    # policies
    async def policies(self, *, include_deleted: bool = False) -> list[Policy]:
        query = select(policies).order_by(policies.c.id)
        if not include_deleted:
            query = query.where(policies.c.deleted.is_(False))
        rows = (await self._session.execute(query)).mappings()
        return [policy_from_json(r["id"], r["version"], r["definition"]) for r in rows]

    async def policy(self, policy_id: str) -> Policy | None:
        query = select(policies).where(policies.c.id == policy_id, policies.c.deleted.is_(False))
        row = (await self._session.execute(query)).mappings().first()
        return policy_from_json(row["id"], row["version"], row["definition"]) if row else None

    async def policy_version(self, policy_id: str, version: int) -> Policy | None:
        query = select(policy_versions).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.version == version
        )
        row = (await self._session.execute(query)).mappings().first()
        return policy_from_json(policy_id, version, row["definition"]) if row else None

    async def policy_versions(self, policy_id: str) -> list[dict[str, Any]]:
        query = (
            select(policy_versions).where(policy_versions.c.policy_id == policy_id).order_by(policy_versions.c.version)
        )
        return [dict(r) for r in (await self._session.execute(query)).mappings()]

    async def save_policy(self, policy: Policy, *, by: str, now: datetime, deleted: bool = False) -> int:
        """Store `policy` as its next version (deleted or not); returns the version number."""
        await self._session.execute(
            text("select pg_advisory_xact_lock(hashtextextended('escalation-policy:' || :p, 0))"), {"p": policy.id}
        )
        latest = await self._session.scalar(
            select(func.max(policy_versions.c.version)).where(policy_versions.c.policy_id == policy.id)
        )
        version = (latest or 0) + 1
        definition = policy_to_json(policy)
        await self._session.execute(
            pg_insert(policy_versions).values(
                policy_id=policy.id, version=version, definition=definition, deleted=deleted, saved_at=now, saved_by=by
            )
        )
        values = {"version": version, "definition": definition, "deleted": deleted, "updated_at": now, "updated_by": by}
        stmt = pg_insert(policies).values(id=policy.id, **values)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        return version

    # escalations
    async def open_escalation(self, ticket_id: str, policy_id: str) -> Escalation | None:
        query = select(escalations).where(
            escalations.c.ticket_id == ticket_id,
            escalations.c.policy_id == policy_id,
            escalations.c.state.in_(("open", "acknowledged")),
        )
        row = (await self._session.execute(query.with_for_update())).mappings().first()
        return escalation_from_row(row) if row else None

    async def open_escalations_of(self, ticket_id: str) -> list[Escalation]:
        query = select(escalations).where(
            escalations.c.ticket_id == ticket_id, escalations.c.state.in_(("open", "acknowledged"))
        )
        return [escalation_from_row(r) for r in (await self._session.execute(query.with_for_update())).mappings()]

    async def escalation(self, escalation_id: str, *, for_update: bool = False) -> Escalation | None:
        query = select(escalations).where(escalations.c.id == escalation_id)
        row = (await self._session.execute(query.with_for_update() if for_update else query)).mappings().first()
        return escalation_from_row(row) if row else None

    async def insert_escalation(self, escalation: Escalation) -> bool:
        """False when the ticket already has an open escalation under this policy (the index refused)."""
        stmt = pg_insert(escalations).values(**escalation_to_row(escalation))
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["ticket_id", "policy_id"], index_where=text("state in ('open', 'acknowledged')")
        )
        return (await self._session.execute(stmt.returning(escalations.c.id))).first() is not None

    async def update_escalation(self, escalation: Escalation) -> None:
        row = escalation_to_row(escalation)
        await self._session.execute(update(escalations).where(escalations.c.id == row.pop("id")).values(**row))

    async def add_history(self, escalation: Escalation, steps: Iterable[Step]) -> None:
        rows = [
            {
                "escalation_id": escalation.id,
                "ticket_id": escalation.ticket_id,
                "step": s.kind,
                "level": s.level,
                "by": s.by,
                "reason": s.reason,
                "detail": s.detail,
                "at": s.at,
            }
            for s in steps
        ]
        if rows:
            await self._session.execute(pg_insert(escalation_history), rows)

    async def history(self, escalation_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        query = (
            select(escalation_history)
            .where(escalation_history.c.escalation_id.in_(escalation_ids))
            .order_by(escalation_history.c.id)
        )
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in escalation_ids}
        for row in (await self._session.execute(query)).mappings():
            found[row["escalation_id"]].append(dict(row))
        return found

    async def list_escalations(
        self, *, filters: dict[str, Any], after: tuple[datetime, str] | None, limit: int
    ) -> list[Escalation]:
        """Newest first; `after` is the (opened_at, id) of the last row of the previous page."""
        query = select(escalations)
        for name, value in filters.items():
            if value is not None:
                query = query.where(escalations.c[name] == value)
        if after is not None:
            at, last_id = after
            query = query.where(
                or_(escalations.c.opened_at < at, and_(escalations.c.opened_at == at, escalations.c.id < last_id))
            )
        query = query.order_by(escalations.c.opened_at.desc(), escalations.c.id.desc()).limit(limit)
        return [escalation_from_row(r) for r in (await self._session.execute(query)).mappings()]

    # timers
    async def try_lock_ticket(self, ticket_id: str) -> bool:
        """The ticket's lock if nobody holds it (the timer worker never waits for it while holding a timer)."""
        taken = await self._session.scalar(
            text("select pg_try_advisory_xact_lock(hashtextextended('escalation:' || :t, 0))"), {"t": ticket_id}
        )
        return bool(taken)

    async def arm(self, timer: Timer, *, reset: bool = False) -> None:
        """Insert the timer; one with that id stays as it is (or, with `reset`, takes the new due time)."""
        values = {k: getattr(timer, k) for k in Timer.__dataclass_fields__}
        stmt = pg_insert(timers).values(**values)
        if reset:
            stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"due_at": timer.due_at})
        else:
            stmt = stmt.on_conflict_do_nothing()
        await self._session.execute(stmt)
        await self._session.execute(text("select pg_notify(:c, '')"), {"c": TIMERS_CHANNEL})

    async def clear_level_timers(self, escalation_id: str) -> None:
        await self._session.execute(delete(timers).where(timers.c.escalation_id == escalation_id))

    async def clear_unassigned_timers(self, ticket_id: str) -> None:
        await self._session.execute(
            delete(timers).where(timers.c.ticket_id == ticket_id, timers.c.kind == "unassigned")
        )

    async def claim_due(self, now: datetime) -> Timer | None:
        """One due timer, locked for this transaction; replicas skip each other's."""
        query = select(timers).where(timers.c.due_at <= now).order_by(timers.c.due_at).limit(1)
        row = (await self._session.execute(query.with_for_update(skip_locked=True))).mappings().first()
        return Timer(**{k: row[k] for k in Timer.__dataclass_fields__}) if row else None

    async def postpone(self, timer_id: str, due_at: datetime) -> None:
        await self._session.execute(update(timers).where(timers.c.id == timer_id).values(due_at=due_at))

    async def delete_timer(self, timer_id: str) -> None:
        await self._session.execute(delete(timers).where(timers.c.id == timer_id))

    async def next_due(self) -> datetime | None:
        due: datetime | None = await self._session.scalar(select(func.min(timers.c.due_at)))
        return due

    # ticket facts
    async def facts(self, ticket_id: str) -> dict[str, Any] | None:
        query = select(ticket_facts).where(ticket_facts.c.ticket_id == ticket_id).with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def note_facts(self, ticket_id: str, now: datetime, **values: Any) -> dict[str, Any]:
        """Set these facts of the ticket (others unchanged); returns all of them."""
        stmt = pg_insert(ticket_facts).values(ticket_id=ticket_id, updated_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["ticket_id"], set_={"updated_at": now, **values})
        row = (await self._session.execute(stmt.returning(*ticket_facts.c))).mappings().one()
        return dict(row)

    async def count_reopen(self, ticket_id: str, now: datetime, status: str) -> int:
        stmt = pg_insert(ticket_facts).values(ticket_id=ticket_id, updated_at=now, status=status, reopen_count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={"updated_at": now, "status": status, "reopen_count": ticket_facts.c.reopen_count + 1},
        )
        count: int = (await self._session.execute(stmt.returning(ticket_facts.c.reopen_count))).scalar_one()
        return count
