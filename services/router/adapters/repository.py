"""All of the router's queries. Capacity is reserved with conditional UPDATEs (see tables.py)."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, bindparam, delete, exists, func, insert, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from services.router.adapters.agent_rows import POOL_COLUMNS, AgentRows, agent_from_row
from services.router.adapters.codec import facts_from_json, queue_from_json, ruleset_from_json, to_json
from services.router.adapters.tables import (
    agent_loads,
    agents,
    assignment_log,
    assignments,
    decisions,
    queues,
    rule_sets,
    tickets,
)
from services.router.domain.dispatch_pass import ServiceKey, has_room, priority_rank, released
from services.router.domain.model import Agent, AgentLoad, Queue, RoutedTicket, RuleSet, TicketFacts
from services.router.domain.overview import WaitingSummary
from shared.db import autocommit
from shared.events.routing import RoutingDecisionRecorded

# one replica sweeps at a time (a try-lock: the others skip that pass; see handlers/sweeper.py)
SWEEP_LOCK = 0x5B_0002


_TIME_CAN_CHANGE = select(
    or_(exists().where(tickets.c.status == "waiting"), exists().where(tickets.c.status == "offered"))
)


async def time_can_change_anything(engine: AsyncEngine) -> bool:
    """Whether a ticket waits or holds an offer, the only tickets a sweep acts on.

    Asked every sweep interval by an idle router, so it is one statement built once, run outside
    any transaction (no BEGIN and ROLLBACK round trips, no session)."""
    async with autocommit(engine) as conn:
        return bool(await conn.scalar(_TIME_CAN_CHANGE))


def _ticket(row: Any) -> RoutedTicket:
    data = {k: row[k] for k in RoutedTicket.__dataclass_fields__}
    data["tags"] = tuple(data["tags"])
    data["declined_by"] = tuple(data["declined_by"])
    return RoutedTicket(**data)


_TICKET_FIELDS = tuple(RoutedTicket.__dataclass_fields__)
_POOL = "router_pool"  # session.info key: agents_with_room, kept for the rest of the transaction
_NOTES_KEY = "router_notes"  # session.info key: RoutingRepository._notes
_NOTES = text(
    "select (select max(version) from router.rule_sets) as ruleset_version, waiting, room "
    "from router.wake(false, false)"
)
_WAKE = text("select waiting, room from router.wake(:w, :r)")
_RULESETS: dict[int, RuleSet] = {}  # parsed rule sets by version (versions are immutable)


def _row(ticket: RoutedTicket) -> dict[str, Any]:
    """The ticket as column values (by hand: dataclasses.asdict deep-copies, and this runs per assignment)."""
    row = {name: getattr(ticket, name) for name in _TICKET_FIELDS}
    row["tags"] = list(ticket.tags)
    row["declined_by"] = list(ticket.declined_by)
    row["required_skills"] = dict(ticket.required_skills)
    return row


# Take one unit of the agent's channel and total capacity and hold the ticket, in one statement, or
# change nothing. Nothing waits here, so concurrent passes (other replicas, other batches) can never
# deadlock on a reservation: the ticket row is claimed first (as read: same version and, when held,
# still waiting) and the agent row next, each FOR UPDATE SKIP LOCKED, so a row another transaction is
# changing right now is passed over. The agent row is then checked (online, under the total), the
# channel is taken only under its capacity, and every later step runs only if the one before it
# changed a row. The result says which step stopped it (see `Reservation`).
_RESERVE_SQL = """
    with claim as (
        select ticket_id from router.tickets
        where ticket_id = cast(:ticket_id as text) and version = cast(:version as bigint)
          and (not cast(:hold as boolean) or status = 'waiting')
        for update skip locked
    ), agent as (
        select id, status, total_load, total_capacity from router.agents
        where id = :agent_id and exists (select 1 from claim)
        for update {agent_lock}
    ), channel as (
        update router.agent_loads set load = load + 1
        where agent_id = :agent_id and channel = :channel and load < capacity
          and exists (select 1 from agent where status = 'online' and total_load < total_capacity)
        returning agent_id
    ), total as (
        update router.agents set total_load = total_load + 1, last_assigned_at = cast(:now as timestamptz)
        where id = :agent_id and exists (select 1 from channel)
        returning id
    ), held as (
        insert into router.assignments (ticket_id, agent_id, queue, channel, kind, since)
        select cast(:ticket_id as text), cast(:agent_id as text), cast(:queue as text), cast(:channel as text),
               cast(:kind as text), cast(:now as timestamptz)
        where exists (select 1 from total)
        returning ticket_id
    ), ticket as (
        update router.tickets
        set status = cast(:status as text), agent_id = cast(:agent_id as text),
            offer_expires_at = cast(:expires as timestamptz), version = version + 1
        where ticket_id = cast(:ticket_id as text) and cast(:hold as boolean) and exists (select 1 from held)
        returning ticket_id
    ), logged as (
        insert into router.assignment_log (ticket_id, agent_id, queue, assigned_at)
        select cast(:ticket_id as text), cast(:agent_id as text), cast(:queue as text), cast(:now as timestamptz)
        where cast(:log as boolean) and exists (select 1 from held)
        returning id
    ), recorded as (
        insert into router.decisions (ticket_id, kind, record, decided_at)
        select cast(:ticket_id as text), cast(:record_kind as text), cast(cast(:record as text) as jsonb),
               cast(:now as timestamptz)
        where cast(:record as text) is not null and exists (select 1 from held)
        returning id
    )
    select (select count(*) from claim) as claimed, (select count(*) from agent) as agent_locked,
           (select count(*) from held) as held,
           0 * (select count(*) from ticket) + 0 * (select count(*) from logged)
           + 0 * (select count(*) from recorded) as _
    """
_RESERVE = text(_RESERVE_SQL.format(agent_lock="skip locked"))
# for a reservation that names its agent (a transfer, an escalation to someone): wait for them instead
_RESERVE_WAITING = text(_RESERVE_SQL.format(agent_lock=""))


class Reservation(enum.Enum):
    """What a reservation did: took the capacity, or why not."""

    TAKEN = "taken"
    TICKET_BUSY = "ticket_busy"  # changed since it was read, no longer waiting, or being changed right now
    AGENT_BUSY = "agent_busy"  # another transaction is changing this agent right now
    AGENT_FULL = "agent_full"  # not online, or no room (on the channel or in total)

    def __bool__(self) -> bool:
        return self is Reservation.TAKEN


# the round-robin pointer moves only if nobody else holds the queue's row (see set_last_round_robin)
_MOVE_ROUND_ROBIN = text(
    """
    update router.queues set last_round_robin_agent = :agent_id
    where name = (select name from router.queues where name = :queue for no key update skip locked)
    returning name
    """
)

# online agents under their total capacity with their load per channel, in one read
_WITH_ROOM_SQL = f"""
    select {POOL_COLUMNS}
    from router.agents a
    where a.status = 'online' and a.total_load < a.total_capacity
    """
_WITH_ROOM = text(_WITH_ROOM_SQL)
_WITH_ROOM_ONE = text(_WITH_ROOM_SQL + " and a.id = :agent_id")
# what the pool's rows decoded to, kept for the process (see agent_rows.py)
_POOL_ROWS = AgentRows()


# Give back the capacity a ticket held, in one statement: its assignment row goes, and its agent's
# total and channel load drop by one (never below zero). The agent row is changed before its channel
# row, the order a reservation locks them in, so the two never deadlock: the channel's update runs
# only once the agent's has (its one-time filter reads the agent's result).
_RELEASE = text(
    """
    with held as (
        delete from router.assignments where ticket_id = cast(:ticket_id as text)
        returning agent_id, channel
    ), total as (
        update router.agents set total_load = total_load - 1
        where id = (select agent_id from held) and total_load > 0
        returning id
    ), channel as (
        update router.agent_loads set load = load - 1
        where agent_id = (select agent_id from held) and channel = (select channel from held) and load > 0
          and (select count(*) from total) >= 0
        returning agent_id
    )
    select agent_id, channel, (select count(*) from channel) as _ from held
    """
)


# The agents holding any of these tickets, and the agents named, locked in id order (PostgreSQL locks
# the rows as the sort hands them out): a batch that releases or reserves several of them takes every
# wait here, up front, in the one order all batches use, instead of one by one in its events' order
# (see `lock_holders`).
_LOCK_HOLDERS = text(
    """
    select a.id from router.agents a
    where a.id in (select s.agent_id from router.assignments s where s.ticket_id = any(cast(:ticket_ids as text[])))
       or a.id = any(cast(:agent_ids as text[]))
    order by a.id
    for no key update of a
    """
)

# The statements each ticket passes through, built once and given their values at execution: one
# built per call with `.values(**row)` costs SQLAlchemy a new construct and cache key every time
# (about half a millisecond for a ticket's columns), a fixed one only its parameters.
# The queue's routing priority, read as the row is written (the ticket's `rank_queue_`).
_QUEUE_RANK = func.coalesce(
    select(queues.c.routing_priority).where(queues.c.name == bindparam("rank_queue_")).scalar_subquery(), 0
)
_ADDED = (
    pg_insert(tickets)
    .values(
        {
            **{name: bindparam(f"t_{name}", type_=tickets.c[name].type) for name in (*_TICKET_FIELDS, "facts")},
            "priority_rank": bindparam("t_priority_rank", type_=tickets.c.priority_rank.type),
            "queue_rank": _QUEUE_RANK,
        }
    )
    .on_conflict_do_nothing()
    .returning(tickets.c.ticket_id)
    .cte("added")
)
# a new ticket and its routing decision record, in one statement
_ADD = (
    insert(decisions)
    .from_select(
        ["ticket_id", "kind", "record", "decided_at"],
        select(
            _ADDED.c.ticket_id,
            bindparam("d_kind", type_=decisions.c.kind.type),
            bindparam("d_record", type_=JSONB),
            bindparam("d_decided_at", type_=DateTime(timezone=True)),
        ),
    )
    .returning(decisions.c.ticket_id)
    .add_cte(_ADDED)
)
_SAVE = (
    update(tickets)
    .where(tickets.c.ticket_id == bindparam("ticket_id_"))
    .values(version=tickets.c.version + 1, queue_rank=_QUEUE_RANK)
    .returning(tickets.c.version)
)
_UPDATE_TICKET = update(tickets).where(tickets.c.ticket_id == bindparam("ticket_id_"))
_INSERT_DECISION = insert(decisions)
_INSERT_ASSIGNMENT_LOG = insert(assignment_log)


class RoutingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session_info(self) -> dict[str, Any]:
        """Per-transaction notes (the session lives as long as its unit of work)."""
        info: dict[str, Any] = self._session.info
        return info

    async def try_lock_sweep(self) -> bool:
        """Whether this transaction is the one sweeping now (held until it ends; never waits)."""
        return bool(await self._session.scalar(text("select pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK}))

    # the wake-up sequences (handlers/wakeups.py); nextval is not transactional, so a bump is seen at once
    async def wake_counts(self) -> tuple[int, int]:
        """(waiting_seq, room_seq) as this transaction first saw them (`_notes`)."""
        counts: tuple[int, int] = (await self._notes())["wake"]
        return counts

    async def _notes(self) -> dict[str, Any]:
        """What a routing transaction reads once, in one statement before any other routing read:
        the wake-up counters (which must be read before the agents or tickets they guard) and the
        current rule set's version."""
        notes: dict[str, Any] | None = self.session_info.get(_NOTES_KEY)
        if notes is None:
            version, waiting, room = (await self._session.execute(_NOTES)).one()
            notes = self.session_info[_NOTES_KEY] = {"ruleset_version": version, "wake": (int(waiting), int(room))}
        return notes

    # tickets
    async def add(self, ticket: RoutedTicket, facts: TicketFacts, record: RoutingDecisionRecorded) -> bool:
        """Insert a newly routed ticket with its routing decision record, in one statement; False
        (and nothing written) when the ticket is already here."""
        params = {f"t_{name}": value for name, value in _row(ticket).items()}
        params.update(
            t_facts=to_json(facts),
            t_priority_rank=priority_rank(ticket.priority),
            rank_queue_=ticket.queue,
            d_kind=record.kind,
            d_record=record.model_dump(mode="json"),
            d_decided_at=record.decided_at,
        )
        added = (await self._session.execute(_ADD, params)).first() is not None
        if added:
            self._written[ticket.ticket_id] = ticket.version
        return added

    async def save(self, ticket: RoutedTicket) -> None:
        row = _row(ticket)
        del row["version"]  # the statement adds one to the stored version
        row.update(
            ticket_id_=row.pop("ticket_id"), priority_rank=priority_rank(ticket.priority), rank_queue_=ticket.queue
        )
        version = await self._session.scalar(_SAVE, row)
        if version is not None:
            self._written[ticket.ticket_id] = version

    @property
    def _written(self) -> dict[str, int]:
        """The versions this transaction wrote, by ticket id: a ticket object made before its own save
        in this transaction (the domain's Change) still reserves as the row now stands."""
        versions: dict[str, int] = self._session.info.setdefault("router_ticket_versions", {})
        return versions

    async def save_facts(self, ticket_id: str, facts: TicketFacts) -> None:
        await self._session.execute(_UPDATE_TICKET, {"facts": to_json(facts), "ticket_id_": ticket_id})

    async def get(self, ticket_id: str, *, for_update: bool = False, skip_locked: bool = False) -> RoutedTicket | None:
        """The ticket; `for_update` locks it (with `skip_locked`: None when another transaction holds it)."""
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        if for_update:
            query = query.with_for_update(skip_locked=skip_locked)
        row = (await self._session.execute(query)).mappings().first()
        return _ticket(row) if row else None

    async def ticket_id_of(self, key: str) -> str | None:
        """The id of the ticket whose id or human reference (`SB-1088`) is `key`, the id winning."""
        query = (
            select(tickets.c.ticket_id)
            .where(or_(tickets.c.ticket_id == key, tickets.c.reference == key))
            .order_by((tickets.c.ticket_id == key).desc(), tickets.c.received_at.desc())
            .limit(1)
        )
        return await self._session.scalar(query)

    async def facts(self, ticket_id: str) -> TicketFacts | None:
        data = await self._session.scalar(select(tickets.c.facts).where(tickets.c.ticket_id == ticket_id))
        return facts_from_json(data) if data else None

    async def waiting_in(self, queue: str) -> list[RoutedTicket]:
        rows = await self._session.execute(
            select(tickets).where(tickets.c.queue == queue, tickets.c.status == "waiting")
        )
        return [_ticket(r) for r in rows.mappings()]

    async def waiting_page(
        self,
        *,
        after: ServiceKey | None,
        limit: int,
        queues: Sequence[str] | None = None,
        not_queues: Sequence[str] = (),
        channels: Sequence[str] | None = None,
    ) -> list[tuple[ServiceKey, RoutedTicket]]:
        """Waiting tickets across queues in the global service order (queue routing priority, priority,
        age, id), a page at a time: a keyset read on ix_tickets_waiting_order."""
        order = (tickets.c.queue_rank, tickets.c.priority_rank, tickets.c.received_at, tickets.c.ticket_id)
        query = select(tickets).where(tickets.c.status == "waiting")
        if queues is not None:
            query = query.where(tickets.c.queue.in_(list(queues)))
        if not_queues:
            query = query.where(tickets.c.queue.not_in(list(not_queues)))
        if channels is not None:
            query = query.where(tickets.c.channel.in_(list(channels)))
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = await self._session.execute(query.order_by(*order).limit(limit))
        return [
            ((r["queue_rank"], r["priority_rank"], r["received_at"], r["ticket_id"]), _ticket(r))
            for r in rows.mappings()
        ]

    async def waiting_since_before(self, queue: str, since: datetime, *, widened: bool | None) -> list[RoutedTicket]:
        """Waiting tickets of a queue that started waiting before `since` (and, unless None, whose
        skills are widened or not): past a wait limit, read on ix_tickets_waiting_since."""
        query = select(tickets).where(
            tickets.c.queue == queue, tickets.c.status == "waiting", tickets.c.waiting_since <= since
        )
        if widened is not None:
            query = query.where(tickets.c.skills_widened == widened)
        return [_ticket(r) for r in (await self._session.execute(query)).mappings()]

    async def queues_with_waiting(self) -> list[str]:
        return list(
            (
                await self._session.execute(select(tickets.c.queue).where(tickets.c.status == "waiting").distinct())
            ).scalars()
        )

    async def waiting_summaries(self, queue: str | None = None) -> dict[str, WaitingSummary]:
        """Per queue with waiting tickets (or just `queue`): how many wait, and the longest wait's start."""
        query = (
            select(tickets.c.queue, func.count(), func.min(tickets.c.waiting_since))
            .where(tickets.c.status == "waiting")
            .group_by(tickets.c.queue)
            .order_by(tickets.c.queue)
        )
        if queue is not None:
            query = query.where(tickets.c.queue == queue)
        rows = await self._session.execute(query)
        return {name: WaitingSummary(count=count, oldest_since=oldest) for name, count, oldest in rows.all()}

    async def held_by(self, agent_id: str, *, for_update: bool = False) -> list[RoutedTicket]:
        """The agent's tickets (`for_update`: locked for change, waiting for a transaction changing one)."""
        query = (
            select(tickets)
            .where(tickets.c.agent_id == agent_id, tickets.c.status.in_(("assigned", "offered")))
            .order_by(tickets.c.received_at)
        )
        rows = await self._session.execute(query.with_for_update() if for_update else query)
        return [_ticket(r) for r in rows.mappings()]

    async def expired_offers(self, now: datetime) -> list[RoutedTicket]:
        rows = await self._session.execute(
            select(tickets)
            .where(tickets.c.status == "offered", tickets.c.offer_expires_at <= now)
            .with_for_update(skip_locked=True)
        )
        return [_ticket(r) for r in rows.mappings()]

    # queues
    async def queue(self, name: str) -> Queue:
        """A queue nobody configured yet still works, with the defaults (so routing never stalls).
        Read once per transaction (a consumer's batch routes many tickets into the same few queues)."""
        known: dict[str, Queue] = self.session_info.setdefault("router_queues", {})
        queue = known.get(name)
        if queue is None:
            config = await self._session.scalar(select(queues.c.config).where(queues.c.name == name))
            queue = known[name] = queue_from_json(config) if config else Queue(name=name)
        return queue

    async def queue_exists(self, name: str) -> bool:
        return bool(await self._session.scalar(select(func.count()).select_from(queues).where(queues.c.name == name)))

    async def queue_names(self) -> list[str]:
        return list((await self._session.execute(select(queues.c.name).order_by(queues.c.name))).scalars())

    async def queue_versions(self) -> list[tuple[str, datetime]]:
        """Every queue's name and when it last changed (what the router announces at start)."""
        rows = await self._session.execute(select(queues.c.name, queues.c.updated_at).order_by(queues.c.name))
        return [(name, updated_at) for name, updated_at in rows]

    async def all_queues(self) -> list[Queue]:
        return [
            queue_from_json(c)
            for c in (await self._session.execute(select(queues.c.config).order_by(queues.c.name))).scalars()
        ]

    async def put_queue(self, queue: Queue, now: datetime) -> None:
        self.session_info.pop("router_queues", None)
        values = {"config": to_json(queue), "updated_at": now, "routing_priority": queue.routing_priority}
        stmt = pg_insert(queues).values(name=queue.name, **values)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=values))
        await self._session.execute(
            update(tickets)
            .where(tickets.c.queue == queue.name, tickets.c.queue_rank != queue.routing_priority)
            .values(queue_rank=queue.routing_priority)
        )

    async def delete_queue(self, name: str) -> bool:
        self.session_info.pop("router_queues", None)
        deleted = await self._session.execute(delete(queues).where(queues.c.name == name).returning(queues.c.name))
        return deleted.first() is not None

    async def last_round_robin(self, queue: str) -> str | None:
        return await self._session.scalar(select(queues.c.last_round_robin_agent).where(queues.c.name == queue))

    async def set_last_round_robin(self, queue: str, agent_id: str) -> bool:
        """Move the queue's round-robin pointer to `agent_id`, unless another transaction holds the
        queue's row right now (its own pointer move, or an edit): then this one is skipped and False
        returned. Waiting for that row made every replica's assignments in the queue take turns,
        each for the whole of the other's transaction (measured: 15 ms a wait, 4.4 s of 40 with two
        routers). The pointer only spreads the work; who may take a ticket is the reservation's to say."""
        moved = await self._session.scalar(_MOVE_ROUND_ROBIN, {"queue": queue, "agent_id": agent_id})
        return moved is not None

    # agents
    async def agent(self, agent_id: str, *, for_update: bool = False) -> Agent | None:
        query = select(agents).where(agents.c.id == agent_id)
        row = (await self._session.execute(query.with_for_update() if for_update else query)).mappings().first()
        return agent_from_row(row) if row else None

    async def online_agents(self) -> list[Agent]:
        query = select(agents).where(agents.c.status == "online").order_by(agents.c.id)
        return [agent_from_row(r) for r in (await self._session.execute(query)).mappings()]

    async def agents_with_room(self) -> dict[str, tuple[Agent, AgentLoad]]:
        """Online agents under their total capacity, with their loads: all an assignment pass can use.

        Read once per transaction and then kept up to date by the passes themselves (`DispatchPass.took`
        and `full` change this very dict); anything else here that gives an agent room or changes
        them (a release, a profile or status change) drops it, so the next pass reads it again. What
        other transactions change meanwhile is the reservation's to find out: it refuses an agent who
        filled up, and an agent who got room is the freeing transaction's to fill (`wakeups`)."""
        info = self.session_info
        pool: dict[str, tuple[Agent, AgentLoad]] | None = info.get(_POOL)
        if pool is None:
            rows = (await self._session.execute(_WITH_ROOM)).mappings().all()
            loads = (_POOL_ROWS.entry(r) for r in rows)
            pool = info[_POOL] = {agent.id: (agent, load) for agent, load in loads if has_room(agent, load)}
        return pool

    def _agents_changed(self) -> None:
        self.session_info.pop(_POOL, None)

    async def all_agents(self) -> list[Agent]:
        return [
            agent_from_row(r) for r in (await self._session.execute(select(agents).order_by(agents.c.id))).mappings()
        ]

    async def put_agent(self, agent: Agent) -> None:
        """Create or update an agent's profile (status is kept on update); capacities are copied to agent_loads."""
        self._agents_changed()
        values = dict(
            id=agent.id,
            name=agent.name,
            team=agent.team,
            skills=dict(agent.skills),
            languages=list(agent.languages),
            capacity=dict(agent.capacity),
            total_capacity=agent.total_capacity,
            status=agent.status,
            status_changed_at=agent.status_changed_at,
        )
        profile = {k: v for k, v in values.items() if k not in ("id", "status", "status_changed_at")}
        await self._session.execute(
            pg_insert(agents).values(**values).on_conflict_do_update(index_elements=["id"], set_=profile)
        )
        for channel, capacity in agent.capacity.items():
            stmt = pg_insert(agent_loads).values(agent_id=agent.id, channel=channel, load=0, capacity=capacity)
            await self._session.execute(
                stmt.on_conflict_do_update(index_elements=["agent_id", "channel"], set_={"capacity": capacity})
            )
        await self._session.execute(
            update(agent_loads)
            .where(agent_loads.c.agent_id == agent.id, agent_loads.c.channel.not_in(list(agent.capacity) or [""]))
            .values(capacity=0)
        )

    async def delete_agent(self, agent_id: str) -> bool:
        self._agents_changed()
        deleted = await self._session.execute(delete(agents).where(agents.c.id == agent_id).returning(agents.c.id))
        return deleted.first() is not None

    async def set_status(self, agent_id: str, status: str, now: datetime) -> None:
        self._agents_changed()
        await self._session.execute(
            update(agents).where(agents.c.id == agent_id).values(status=status, status_changed_at=now)
        )

    async def loads(self, queue: str | None = None, since: datetime | None = None) -> dict[str, AgentLoad]:
        by_channel: dict[str, dict[str, int]] = {}
        for agent_id, channel, load in (
            await self._session.execute(select(agent_loads.c.agent_id, agent_loads.c.channel, agent_loads.c.load))
        ).all():
            by_channel.setdefault(agent_id, {})[channel] = load
        recent = await self.assignment_counts(queue, since) if queue is not None and since is not None else {}
        totals = dict((await self._session.execute(select(agents.c.id, agents.c.total_load))).all())
        return {
            a: AgentLoad(by_channel=by_channel.get(a, {}), total=t, recent_from_queue=recent.get(a, 0))
            for a, t in totals.items()
        }

    # capacity and assignments
    async def reserve(
        self,
        ticket: RoutedTicket,
        agent_id: str,
        kind: str,
        now: datetime,
        *,
        hold: RoutedTicket | None = None,
        log: bool = False,
        record: RoutingDecisionRecorded | None = None,
        wait: bool = False,
    ) -> Reservation:
        """Take one unit of the agent's channel and total capacity for this ticket, or nothing at all.
        With `hold` (the ticket as the agent now has it) its state is saved too, with `log` the
        assignment is logged and with `record` the decision is kept, all in the same statement.
        Never waits for a lock (see _RESERVE) unless `wait`: then it waits for the agent's row. The
        result says what stopped it, if anything."""
        version = self._written.get(ticket.ticket_id, ticket.version)
        params = {
            "version": version,
            "agent_id": agent_id,
            "channel": ticket.channel,
            "now": now,
            "ticket_id": ticket.ticket_id,
            "queue": ticket.queue,
            "kind": kind,
            "hold": hold is not None,
            "status": hold.status if hold else None,
            "expires": hold.offer_expires_at if hold else None,
            "log": log,
            "record_kind": record.kind if record else None,
            "record": json.dumps(record.model_dump(mode="json")) if record else None,
        }
        if wait:
            self._agents_changed()  # a reservation outside a pass: the pass's copy of the loads would be behind
        statement = _RESERVE_WAITING if wait else _RESERVE
        claimed, agent_locked, held, _ = (await self._session.execute(statement, params)).one()
        if held:
            if hold is not None:
                self._written[ticket.ticket_id] = version + 1
            return Reservation.TAKEN
        if not claimed:
            return Reservation.TICKET_BUSY
        return Reservation.AGENT_FULL if agent_locked else Reservation.AGENT_BUSY

    async def confirm(self, ticket_id: str) -> None:
        await self._session.execute(
            update(assignments).where(assignments.c.ticket_id == ticket_id).values(kind="assigned")
        )

    async def lock_holders(self, ticket_ids: Sequence[str], *, also: Sequence[str] = ()) -> None:
        """Lock the agents who hold any of `ticket_ids`, and the agents `also` names, in id order,
        waiting for each.

        A release waits for its agent's row, and so does a reservation for an agent an escalation
        names. Two batches that release (or hold from a reservation) the same agents in different
        orders each waited for a row the other held: PostgreSQL broke the cycle after its
        deadlock_timeout (1 s) by failing one batch, which was then handled again record by record
        (15 times in a 90 s router-bound run with two replicas). Taken here first, before any
        reservation, a batch waits only while it holds no agent but in this order."""
        if ticket_ids or also:
            await self._session.execute(_LOCK_HOLDERS, {"ticket_ids": list(ticket_ids), "agent_ids": list(also)})

    async def release(self, ticket_id: str) -> str | None:
        """Give the capacity a ticket held back to its agent; returns that agent (None if it held none).

        A pool this transaction already read (`agents_with_room`) is brought up to date rather than
        dropped: a solve in a batch of events no longer costs the next dispatch a read of every agent."""
        held = (await self._session.execute(_RELEASE, {"ticket_id": ticket_id})).first()
        if held is None:
            return None
        agent_id, channel = held.agent_id, held.channel
        pool: dict[str, tuple[Agent, AgentLoad]] | None = self.session_info.get(_POOL)
        if pool is not None:
            if agent_id in pool:
                agent, load = pool[agent_id]
                pool[agent_id] = (agent, released(load, channel))
            elif (mine := await self._read_with_room(agent_id)) is not None:
                pool[agent_id] = mine  # full (or away) when the pool was read, with room now
        return agent_id

    async def agent_with_room(self, agent_id: str) -> tuple[Agent, AgentLoad] | None:
        """One agent as `agents_with_room` would have them (None: offline, away or full), read alone
        unless this transaction already holds the pool."""
        pool: dict[str, tuple[Agent, AgentLoad]] | None = self.session_info.get(_POOL)
        if pool is not None:
            return pool.get(agent_id)
        return await self._read_with_room(agent_id)

    async def _read_with_room(self, agent_id: str) -> tuple[Agent, AgentLoad] | None:
        """The agent's row as the pool's read gives it, if they have room now."""
        row = (await self._session.execute(_WITH_ROOM_ONE, {"agent_id": agent_id})).mappings().first()
        if row is None:
            return None
        agent, load = _POOL_ROWS.entry(row)
        return (agent, load) if has_room(agent, load) else None

    async def log_assignment(self, ticket_id: str, agent_id: str, queue: str, now: datetime) -> None:
        await self._session.execute(
            _INSERT_ASSIGNMENT_LOG, {"ticket_id": ticket_id, "agent_id": agent_id, "queue": queue, "assigned_at": now}
        )

    async def assignment_counts(self, queue: str, since: datetime) -> dict[str, int]:
        rows = await self._session.execute(
            select(assignment_log.c.agent_id, func.count())
            .where(assignment_log.c.queue == queue, assignment_log.c.assigned_at >= since)
            .group_by(assignment_log.c.agent_id)
        )
        return dict(rows.all())

    # rules
    async def ruleset(self) -> RuleSet | None:
        """The current rule set. A version never changes once saved, so parsed ones are kept by version
        and a transaction reads only the latest version number, once."""
        notes = await self._notes()
        if "ruleset_version" not in notes:  # saved in this transaction
            notes["ruleset_version"] = await self._session.scalar(select(func.max(rule_sets.c.version)))
        version = notes["ruleset_version"]
        if version is None:
            return None
        cached = _RULESETS.get(version)
        if cached is not None:
            return cached
        row = (await self._session.execute(select(rule_sets).where(rule_sets.c.version == version))).mappings().one()
        ruleset = ruleset_from_json(row["version"], row["rules"], row["default_actions"])
        if len(_RULESETS) >= 16:
            _RULESETS.clear()
        _RULESETS[version] = ruleset
        return ruleset

    async def ruleset_version(self, version: int) -> dict[str, Any] | None:
        row = (await self._session.execute(select(rule_sets).where(rule_sets.c.version == version))).mappings().first()
        return dict(row) if row else None

    async def ruleset_history(self) -> list[dict[str, Any]]:
        rows = await self._session.execute(
            select(rule_sets.c.version, rule_sets.c.created_at, rule_sets.c.created_by).order_by(
                rule_sets.c.version.desc()
            )
        )
        return [dict(r) for r in rows.mappings()]

    async def save_ruleset(self, ruleset: RuleSet, created_by: str, now: datetime) -> int:
        self.session_info.get(_NOTES_KEY, {}).pop("ruleset_version", None)
        version = int(await self._session.scalar(select(func.coalesce(func.max(rule_sets.c.version), 0))) or 0) + 1
        await self._session.execute(
            insert(rule_sets).values(
                version=version,
                rules=to_json(list(ruleset.rules)),
                default_actions=to_json(ruleset.default),
                created_at=now,
                created_by=created_by,
            )
        )
        return version

    # decisions
    async def record_decision(self, ticket_id: str, kind: str, record: dict[str, Any], now: datetime) -> None:
        await self._session.execute(
            _INSERT_DECISION, {"ticket_id": ticket_id, "kind": kind, "record": record, "decided_at": now}
        )

    async def decisions_of(self, ticket_id: str) -> list[dict[str, Any]]:
        rows = await self._session.execute(
            select(decisions).where(decisions.c.ticket_id == ticket_id).order_by(decisions.c.id)
        )
        return [dict(r) for r in rows.mappings()]


async def bump_wake(conn: AsyncConnection, *, waiting: bool, room: bool) -> tuple[int, int]:
    """Bump the wake-up sequences asked for, then read both (handlers/wakeups.py). One statement that
    needs no transaction: nextval is not transactional, so the bump counts whether or not one commits."""
    w, r = (await conn.execute(_WAKE, {"w": waiting, "r": room})).one()
    return int(w), int(r)
