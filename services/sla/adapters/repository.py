"""All of the sla service's queries: configuration and its versions, ticket history and evaluations,
timers, announcements. Reports are in `reports.py`.

Lock order, everywhere: the configuration lock (saves only), then a ticket's row, then its timers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.sla.adapters.tables import (
    announced,
    calendars,
    config_versions,
    outcomes,
    policies,
    ticket_events,
    tickets,
    timers,
)
from services.sla.domain.model import Calendar, MetricClock, Policy, SlaConfig, TicketSla
from shared.events import Event
from shared.events.catalogue import from_payload

# serialises configuration saves across replicas, so no save is lost and versions follow each other
CONFIG_LOCK = 0x51A_0001
TIMERS_CHANNEL = "sla_timers"
_CONFIGS: dict[int, SlaConfig] = {}  # versions are immutable, so parsed ones are kept


@dataclass(frozen=True)
class PolicyRow:
    policy: Policy
    position: int
    is_default: bool


class SlaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- configuration ---------------------------------------------------------------------------

    async def lock_config(self) -> None:
        await self.session.execute(text("select pg_advisory_xact_lock(:key)"), {"key": CONFIG_LOCK})

    async def calendars(self) -> dict[str, Calendar]:
        rows = await self.session.execute(select(calendars.c.body).order_by(calendars.c.id))
        return {cal.id: cal for cal in (Calendar.model_validate(body) for (body,) in rows)}

    async def policy_rows(self) -> list[PolicyRow]:
        rows = await self.session.execute(
            select(policies.c.body, policies.c.position, policies.c.is_default).order_by(
                policies.c.position, policies.c.id
            )
        )
        return [PolicyRow(Policy.model_validate(body), position, is_default) for body, position, is_default in rows]

    async def put_calendar(self, calendar: Calendar, now: datetime) -> None:
        body = calendar.model_dump(mode="json")
        stmt = pg_insert(calendars).values(id=calendar.id, body=body, updated_at=now)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["id"], set_={"body": body, "updated_at": now})
        )

    async def delete_calendar(self, calendar_id: str) -> bool:
        result = await self.session.execute(delete(calendars).where(calendars.c.id == calendar_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def replace_policies(self, ordered: Sequence[Policy], default_id: str | None, now: datetime) -> None:
        """The policy set, in order; rows whose body and place did not change keep their updated_at."""
        current = {row.policy.id: row for row in await self.policy_rows()}
        keep = {p.id for p in ordered}
        if gone := set(current) - keep:
            await self.session.execute(delete(policies).where(policies.c.id.in_(gone)))
        for position, policy in enumerate(ordered):
            row = current.get(policy.id)
            is_default = policy.id == default_id
            if row == PolicyRow(policy, position, is_default):
                continue
            values = {"body": policy.model_dump(mode="json"), "position": position, "is_default": is_default}
            stmt = pg_insert(policies).values(id=policy.id, updated_at=now, **values)
            await self.session.execute(
                stmt.on_conflict_do_update(index_elements=["id"], set_={**values, "updated_at": now})
            )

    async def new_version(self, config: SlaConfig, now: datetime) -> SlaConfig:
        """Keep `config` as the next version (call under the configuration lock)."""
        version = (
            await self.session.execute(
                insert(config_versions).values(snapshot={}, created_at=now).returning(config_versions.c.version)
            )
        ).scalar_one()
        saved = config.model_copy(update={"version": version})
        await self.session.execute(
            update(config_versions)
            .where(config_versions.c.version == version)
            .values(snapshot=saved.model_dump(mode="json"))
        )
        _CONFIGS[version] = saved
        return saved

    async def latest_version(self) -> int | None:
        found: int | None = (await self.session.execute(select(func.max(config_versions.c.version)))).scalar()
        return found

    async def config(self, version: int) -> SlaConfig:
        if version not in _CONFIGS:
            snapshot = (
                await self.session.execute(
                    select(config_versions.c.snapshot).where(config_versions.c.version == version)
                )
            ).scalar_one()
            _CONFIGS[version] = SlaConfig.model_validate(snapshot)
        return _CONFIGS[version]

    # -- tickets ---------------------------------------------------------------------------------

    async def add_event(self, event_id: str, ticket_id: str, event: Event, at: datetime) -> bool:
        stmt = (
            pg_insert(ticket_events)
            .values(
                event_id=event_id, ticket_id=ticket_id, type=event.TYPE, at=at, payload=event.model_dump(mode="json")
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(ticket_events.c.event_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def lock_ticket(self, ticket_id: str, *, pin: int, now: datetime) -> int:
        """Lock the ticket's row (made now, pinned to version `pin`, if it is new); its pinned version."""
        await self.session.execute(
            pg_insert(tickets)
            .values(ticket_id=ticket_id, config_version=pin, updated_at=now)
            .on_conflict_do_nothing(index_elements=["ticket_id"])
        )
        version: int = (
            await self.session.execute(
                select(tickets.c.config_version).where(tickets.c.ticket_id == ticket_id).with_for_update()
            )
        ).scalar_one()
        return version

    async def lock_tickets(self, ticket_ids: Iterable[str]) -> dict[str, int]:
        """Lock those rows no other transaction holds (it is re-evaluating them); their pinned versions."""
        rows = await self.session.execute(
            select(tickets.c.ticket_id, tickets.c.config_version)
            .where(tickets.c.ticket_id.in_(sorted(set(ticket_ids))))
            .order_by(tickets.c.ticket_id)
            .with_for_update(skip_locked=True)
        )
        return {row.ticket_id: row.config_version for row in rows}

    async def ticket(self, ticket_id: str) -> tuple[int, TicketSla | None] | None:
        row = (
            await self.session.execute(
                select(tickets.c.config_version, tickets.c.sla).where(tickets.c.ticket_id == ticket_id)
            )
        ).first()
        if row is None:
            return None
        return row.config_version, TicketSla.model_validate(row.sla) if row.sla is not None else None

    async def history(self, ticket_id: str) -> list[Event]:
        rows = await self.session.execute(
            select(ticket_events.c.type, ticket_events.c.payload)
            .where(ticket_events.c.ticket_id == ticket_id)
            .order_by(ticket_events.c.at, ticket_events.c.event_id)
        )
        return [from_payload(type_name, payload) for type_name, payload in rows]

    async def histories(self, ticket_ids: Sequence[str]) -> dict[str, list[Event]]:
        found: dict[str, list[Event]] = {ticket_id: [] for ticket_id in ticket_ids}
        rows = await self.session.execute(
            select(ticket_events.c.ticket_id, ticket_events.c.type, ticket_events.c.payload)
            .where(ticket_events.c.ticket_id.in_(list(ticket_ids)))
            .order_by(ticket_events.c.ticket_id, ticket_events.c.at, ticket_events.c.event_id)
        )
        for ticket_id, type_name, payload in rows:
            found[ticket_id].append(from_payload(type_name, payload))
        return found

    async def save(self, sla: TicketSla, now: datetime) -> None:
        """The ticket's evaluation, and its outcomes rewritten to match it."""
        facts = sla.facts
        await self.session.execute(
            update(tickets)
            .where(tickets.c.ticket_id == sla.ticket_id)
            .values(
                sla=sla.model_dump(mode="json"),
                open=facts.status not in ("solved", "closed"),
                received_at=facts.received_at,
                updated_at=now,
            )
        )
        await self.session.execute(delete(outcomes).where(outcomes.c.ticket_id == sla.ticket_id))
        rows = [_outcome_row(sla, c) for c in sla.clocks]
        if rows:
            await self.session.execute(insert(outcomes), rows)

    async def save_many(self, slas: Sequence[TicketSla], now: datetime) -> None:
        """`save` for many tickets, in three statements (the timer scheduler's batches)."""
        if not slas:
            return
        await self.session.execute(
            update(tickets)
            .where(tickets.c.ticket_id == bindparam("b_ticket_id"))
            .values(
                sla=bindparam("b_sla"),
                open=bindparam("b_open"),
                received_at=bindparam("b_received_at"),
                updated_at=now,
            ),
            [
                {
                    "b_ticket_id": sla.ticket_id,
                    "b_sla": sla.model_dump(mode="json"),
                    "b_open": sla.facts.status not in ("solved", "closed"),
                    "b_received_at": sla.facts.received_at,
                }
                for sla in slas
            ],
        )
        await self.session.execute(delete(outcomes).where(outcomes.c.ticket_id.in_([s.ticket_id for s in slas])))
        rows = [_outcome_row(sla, c) for sla in slas for c in sla.clocks]
        if rows:
            await self.session.execute(insert(outcomes), rows)

    async def open_tickets(self) -> list[str]:
        rows = await self.session.execute(
            select(tickets.c.ticket_id).where(tickets.c.open).order_by(tickets.c.ticket_id)
        )
        return list(rows.scalars())

    async def repin(self, ticket_id: str, version: int) -> None:
        await self.session.execute(
            update(tickets).where(tickets.c.ticket_id == ticket_id).values(config_version=version)
        )

    async def tickets_received_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        rows = await self.session.execute(
            select(tickets.c.ticket_id)
            .where(tickets.c.received_at >= start, tickets.c.received_at < end, tickets.c.sla.is_not(None))
            .order_by(tickets.c.ticket_id)
            .limit(limit)
        )
        return list(rows.scalars())

    # -- announcements and timers ----------------------------------------------------------------

    async def claim_announcement(self, ticket_id: str, key: str, now: datetime) -> bool:
        """True the first time `key` is claimed for the ticket: announce it then, and never again."""
        stmt = (
            pg_insert(announced)
            .values(ticket_id=ticket_id, key=key, announced_at=now)
            .on_conflict_do_nothing(index_elements=["ticket_id", "key"])
            .returning(announced.c.key)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def replace_timers(self, ticket_id: str, due: Sequence[datetime]) -> None:
        """The ticket's timers become `due`; replicas' schedulers are told of the earliest (at commit)."""
        await self.session.execute(delete(timers).where(timers.c.ticket_id == ticket_id))
        if not due:
            return
        await self.session.execute(
            pg_insert(timers).on_conflict_do_nothing(), [{"ticket_id": ticket_id, "due_at": t} for t in set(due)]
        )
        await self.session.execute(
            text("select pg_notify(:channel, :due)"), {"channel": TIMERS_CHANNEL, "due": min(due).isoformat()}
        )

    async def claim_announcements(self, keys: Sequence[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
        """`claim_announcement` for many (ticket_id, key) pairs in one statement; those claimed now."""
        if not keys:
            return set()
        stmt = (
            pg_insert(announced)
            .values([{"ticket_id": ticket_id, "key": key, "announced_at": now} for ticket_id, key in keys])
            .on_conflict_do_nothing(index_elements=["ticket_id", "key"])
            .returning(announced.c.ticket_id, announced.c.key)
        )
        return {(ticket_id, key) for ticket_id, key in await self.session.execute(stmt)}

    async def replace_timers_many(self, due: dict[str, Sequence[datetime]]) -> None:
        """`replace_timers` for many tickets: one delete, one insert, one notification of the earliest."""
        if not due:
            return
        await self.session.execute(delete(timers).where(timers.c.ticket_id.in_(list(due))))
        rows = [{"ticket_id": ticket_id, "due_at": t} for ticket_id, instants in due.items() for t in set(instants)]
        if not rows:
            return
        await self.session.execute(pg_insert(timers).on_conflict_do_nothing(), rows)
        earliest = min(t for instants in due.values() for t in instants)
        await self.session.execute(
            text("select pg_notify(:channel, :due)"), {"channel": TIMERS_CHANNEL, "due": earliest.isoformat()}
        )

    async def claim_due(self, now: datetime, limit: int) -> list[tuple[str, datetime]]:
        """Up to `limit` due timers no other replica has claimed, earliest first, locked until commit."""
        rows = await self.session.execute(
            select(timers.c.ticket_id, timers.c.due_at)
            .where(timers.c.due_at <= now)
            .order_by(timers.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(ticket_id, due_at) for ticket_id, due_at in rows]

    async def next_due(self) -> datetime | None:
        found: datetime | None = (await self.session.execute(select(func.min(timers.c.due_at)))).scalar()
        return found


def _outcome_row(sla: TicketSla, c: MetricClock) -> dict[str, Any]:
    facts = sla.facts
    return {
        "ticket_id": sla.ticket_id,
        "metric": c.metric,
        "cycle": c.cycle,
        "state": c.state,
        "target_s": c.target_s,
        "started_at": c.started_at,
        "due_at": c.due_at,
        "stopped_at": c.stopped_at,
        "breached": c.state == "breached",
        "business_elapsed_s": c.business_elapsed_s,
        "calendar_elapsed_s": c.calendar_elapsed_s,
        "priority": facts.priority,
        "channel": facts.channel,
        "tier": facts.tier,
        "queue": facts.queue,
        "brand": facts.brand,
        "received_at": facts.received_at,
    }
