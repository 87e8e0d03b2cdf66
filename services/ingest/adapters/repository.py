"""All of ingest's queries. Handlers get a repository on the unit of work's session."""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, literal_column, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import (
    deliveries,
    external_refs,
    inbound_emails,
    mailboxes,
    messages,
    reference_seq,
    tickets,
    webhook_sources,
)
from services.ingest.domain.model import Message, Ticket
from shared.events.tickets import ExternalRef, Requester

# seeds hashtextextended so these advisory lock keys do not follow another feature's
_INBOUND_HASH_LOCK_SEED = 0x1_6E_6D_61_69_6C

_TICKET_COLUMNS = (
    "id",
    "reference",
    "channel",
    "brand",
    "subject",
    "priority",
    "status",
    "language",
    "inbox",
    "email_token",
    "linked_ticket_id",
    "assignee_agent_id",
    "queue",
    "satisfaction",
    "chat_ended_at",
    "chat_end_reason",
    "last_activity_at",
    "created_at",
    "updated_at",
    "custom_fields",
)


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    ref = ticket.external_ref
    row = {name: getattr(ticket, name) for name in _TICKET_COLUMNS}
    row.update(
        requester=ticket.requester.model_dump(mode="json"),
        tags=list(ticket.tags),
        participants=list(ticket.participants),
        external_source=ref.source if ref else None,
        external_id=ref.external_id if ref else None,
    )
    row["last_activity_at"] = ticket.last_activity_at or ticket.updated_at
    return row


def _to_ticket(row: Any) -> Ticket:
    ref = ExternalRef(source=row["external_source"], external_id=row["external_id"]) if row["external_source"] else None
    return Ticket(
        **{name: row[name] for name in _TICKET_COLUMNS},
        requester=Requester.model_validate(row["requester"]),
        tags=tuple(row["tags"]),
        participants=tuple(row["participants"]),
        external_ref=ref,
    )


def _to_message(row: Any) -> Message:
    return Message(**{**row, "attachments": tuple(row["attachments"])})


# not the search vector: it is for the database to match on, and as big as the body
_MESSAGE_COLUMNS = tuple(column for column in messages.c if column.name != "search")

# The statements of every webhook, built once with the values passed at execution: a statement made
# with `.values(**row)` per call costs SQLAlchemy a new construct and its cache key each time (about
# half a millisecond for the ticket's 25 columns), a fixed one only the parameters.
_INSERT_TICKET = insert(tickets)
_UPDATE_TICKET = update(tickets).where(tickets.c.id == bindparam("ticket_id_"))
_INSERT_MESSAGE = insert(messages)
_CLAIM_REF = pg_insert(external_refs).on_conflict_do_nothing().returning(external_refs.c.ticket_id)
_FIND_DELIVERY = (
    select(deliveries.c.status_code, deliveries.c.response)
    .where(deliveries.c.scope == bindparam("scope"), deliveries.c.delivery_id.in_(bindparam("ids", expanding=True)))
    .order_by(deliveries.c.created_at)
    .limit(1)
)
_CLAIM_DELIVERY = pg_insert(deliveries).on_conflict_do_nothing().returning(deliveries.c.delivery_id)


@dataclass(frozen=True)
class TicketFilter:
    """What `GET /v1/tickets` may filter on; every given field must match."""

    status: str | None = None
    brand: str | None = None
    channel: str | None = None
    priority: str | None = None
    queue: str | None = None
    tags: tuple[str, ...] = ()  # all of them
    requester_email: str | None = None
    external_source: str | None = None
    external_id: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    created_after: datetime | None = None
    created_before: datetime | None = None
    text: str | None = None  # websearch syntax, over the subject and every message body


def _where(query: Select[Any], f: TicketFilter) -> Select[Any]:
    for column, value in (
        (tickets.c.status, f.status),
        (tickets.c.brand, f.brand),
        (tickets.c.channel, f.channel),
        (tickets.c.priority, f.priority),
        (tickets.c.queue, f.queue),
        (tickets.c.assignee_agent_id, f.assignee),
    ):
        if value:
            query = query.where(column == value)
    if f.unassigned:
        query = query.where(tickets.c.assignee_agent_id.is_(None))
    if f.tags:
        query = query.where(tickets.c.tags.contains(list(f.tags)))
    if f.requester_email:
        query = query.where(tickets.c.requester["email"].astext == f.requester_email.lower())
    if f.created_after:
        query = query.where(tickets.c.created_at >= f.created_after)
    if f.created_before:
        query = query.where(tickets.c.created_at < f.created_before)
    if f.external_source or f.external_id:
        refs = select(external_refs.c.ticket_id)
        if f.external_source:
            refs = refs.where(external_refs.c.source == f.external_source)
        if f.external_id:
            refs = refs.where(external_refs.c.external_id == f.external_id)
        query = query.where(tickets.c.id.in_(refs))
    if f.text:
        words = func.websearch_to_tsquery(literal_column("'simple'::regconfig"), f.text)
        in_bodies = select(messages.c.ticket_id).where(messages.c.search.bool_op("@@")(words))
        query = query.where(or_(tickets.c.search.bool_op("@@")(words), tickets.c.id.in_(in_bodies)))
    return query


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # tickets
    async def next_reference_number(self) -> int:
        return int(await self._session.scalar(reference_seq.next_value()))

    async def add(self, ticket: Ticket) -> None:
        """The ticket row; its external reference must have been claimed first (`claim_external_ref`)."""
        await self._session.execute(_INSERT_TICKET, _ticket_row(ticket))

    async def save(self, ticket: Ticket) -> None:
        row = _ticket_row(ticket)
        row["ticket_id_"] = row.pop("id")
        await self._session.execute(_UPDATE_TICKET, row)

    async def get(self, ticket_id: str, *, for_update: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.id == ticket_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return _to_ticket(row) if row else None

    async def get_by_id_or_reference(self, key: str, *, for_update: bool = False) -> Ticket | None:
        """The ticket whose id or human reference (`SB-1088`) is `key`, the id winning, in one query."""
        query = (
            select(tickets)
            .where(or_(tickets.c.id == key, tickets.c.reference == key))
            .order_by((tickets.c.id == key).desc())
            .limit(1)
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return _to_ticket(row) if row else None

    async def get_by_reference(self, reference: str) -> Ticket | None:
        row = (await self._session.execute(select(tickets).where(tickets.c.reference == reference))).mappings().first()
        return _to_ticket(row) if row else None

    async def get_by_token(self, token: str) -> Ticket | None:
        row = (await self._session.execute(select(tickets).where(tickets.c.email_token == token))).mappings().first()
        return _to_ticket(row) if row else None

    async def list(
        self, filters: TicketFilter, *, after: tuple[datetime, str] | None = None, limit: int = 50
    ) -> builtins.list[Ticket]:
        """Newest first; `after` is the (created_at, id) of the last ticket of the previous page."""
        query = _where(select(tickets), filters)
        if after:
            query = query.where(tuple_(tickets.c.created_at, tickets.c.id) < tuple_(*after))
        query = query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc()).limit(limit)
        return [_to_ticket(r) for r in (await self._session.execute(query)).mappings()]

    async def set_queue(self, ticket_id: str, queue: str) -> None:
        await self._session.execute(_UPDATE_TICKET, {"queue": queue, "ticket_id_": ticket_id})

    async def set_assigned(self, ticket_id: str, agent_id: str, queue: str) -> None:
        """Who holds it and the queue it came from, in one statement (a router assignment says both)."""
        await self._session.execute(
            _UPDATE_TICKET, {"assignee_agent_id": agent_id, "queue": queue, "ticket_id_": ticket_id}
        )

    async def set_assignee(self, ticket_id: str, agent_id: str | None, *, only_if: str | None = None) -> None:
        query = update(tickets).where(tickets.c.id == ticket_id)
        if only_if is not None:
            query = query.where(tickets.c.assignee_agent_id == only_if)
        await self._session.execute(query.values(assignee_agent_id=agent_id))

    # external references
    async def claim_external_ref(self, source: str, external_id: str, ticket_id: str) -> str:
        """Atomically file `(source, external_id)` under `ticket_id`, unless it is already taken: the id of
        the ticket that owns it either way. A concurrent claim waits here for the other transaction to
        end, so when it loses, the winner's ticket is committed and visible to this transaction."""
        claimed = await self._session.scalar(
            _CLAIM_REF, {"source": source, "external_id": external_id, "ticket_id": ticket_id}
        )
        if claimed is not None:
            return claimed
        owner = await self.ticket_id_for_ref(source, external_id)
        assert owner is not None, "a conflicting reference is committed before ON CONFLICT gives up"
        return owner

    async def ticket_id_for_ref(self, source: str, external_id: str) -> str | None:
        return await self._session.scalar(
            select(external_refs.c.ticket_id).where(
                external_refs.c.source == source, external_refs.c.external_id == external_id
            )
        )

    # messages
    async def add_message(self, message: Message) -> None:
        row = asdict(message)
        row["attachments"] = list(message.attachments)
        await self._session.execute(_INSERT_MESSAGE, row)

    # builtins.list: in this class `list` is the ticket listing above
    async def messages_of(self, ticket_id: str, *, since: datetime | None = None) -> builtins.list[Message]:
        """Oldest first; only those created at or after `since` when it is given."""
        query = select(*_MESSAGE_COLUMNS).where(messages.c.ticket_id == ticket_id)
        if since is not None:
            query = query.where(messages.c.created_at >= since)
        rows = await self._session.execute(query.order_by(messages.c.created_at, messages.c.id))
        return [_to_message(row) for row in rows.mappings()]

    async def has_external_message(self, ticket_id: str, external_message_id: str) -> bool:
        query = select(messages.c.id).where(
            messages.c.ticket_id == ticket_id, messages.c.external_message_id == external_message_id
        )
        return await self._session.scalar(query.limit(1)) is not None

    async def ticket_for_email_ids(self, message_ids: Sequence[str]) -> str | None:
        """The ticket of the newest stored message whose Message-ID is among `message_ids`."""
        if not message_ids:
            return None
        query = (
            select(messages.c.ticket_id)
            .where(messages.c.email_message_id.in_(list(message_ids)))
            .order_by(messages.c.created_at.desc())
            .limit(1)
        )
        return await self._session.scalar(query)


class DeliveryLog:
    """Idempotency: the first answer to a delivery id is stored and returned to every retry.

    Ids are stored whole up to `MAX_STORED_ID` characters (as before, so rows written then
    still match); a longer id is stored as `sha256:<hex>` of the whole id, never cut short:
    two ids that share their first characters stay two deliveries.
    """

    MAX_STORED_ID = 200

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @staticmethod
    def key(delivery_id: str) -> str:
        """The stored form of a delivery id."""
        if len(delivery_id) <= DeliveryLog.MAX_STORED_ID:
            return delivery_id
        return "sha256:" + hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()

    async def find_any(self, scope: str, delivery_ids: Sequence[str]) -> tuple[int, dict[str, Any]] | None:
        """The stored answer to any of these ids (the oldest, should several have one)."""
        if not delivery_ids:
            return None
        ids = sorted({self.key(d) for d in delivery_ids})
        row = (await self._session.execute(_FIND_DELIVERY, {"scope": scope, "ids": ids})).first()
        return (row[0], row[1]) if row else None

    async def claim_all(
        self, scope: str, delivery_ids: Sequence[str], status_code: int, response: dict[str, Any], now: datetime
    ) -> bool:
        """Record the answer under every id; False if a concurrent request holds any of them."""
        keys = sorted({self.key(d) for d in delivery_ids})  # one lock order for every request
        if not keys:
            return True
        rows = [
            {"scope": scope, "delivery_id": k, "status_code": status_code, "response": response, "created_at": now}
            for k in keys
        ]
        if len(rows) == 1:  # the usual case: one statement built once
            return await self._session.scalar(_CLAIM_DELIVERY, rows[0]) is not None
        result = await self._session.execute(
            pg_insert(deliveries).values(rows).on_conflict_do_nothing().returning(deliveries.c.delivery_id)
        )
        return len(result.all()) == len(keys)


class InboundEmailLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, **row: Any) -> None:
        await self._session.execute(insert(inbound_emails).values(**row))

    async def accepted_with_hash(self, content_hash: str, since: datetime) -> dict[str, Any] | None:
        """An earlier copy of the same mail that became a ticket or message (for cross-route dedupe).

        Takes a transaction-scoped advisory lock on the hash first: copies arriving at once (SMTP and
        a provider) wait here for the first one's transaction, then find what it recorded.
        """
        await self._session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(content_hash, _INBOUND_HASH_LOCK_SEED)))
        )
        row = (
            (
                await self._session.execute(
                    select(inbound_emails)
                    .where(
                        inbound_emails.c.content_hash == content_hash,
                        inbound_emails.c.received_at >= since,
                        inbound_emails.c.outcome.in_(("ticket_opened", "message_added")),
                    )
                    .order_by(inbound_emails.c.received_at)
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def list(self, *, outcome: str | None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(inbound_emails).order_by(inbound_emails.c.received_at.desc()).limit(limit)
        if outcome:
            query = query.where(inbound_emails.c.outcome == outcome)
        return [dict(r) for r in (await self._session.execute(query)).mappings()]

    async def get(self, inbound_id: str) -> dict[str, Any] | None:
        row = (
            (await self._session.execute(select(inbound_emails).where(inbound_emails.c.id == inbound_id)))
            .mappings()
            .first()
        )
        return dict(row) if row else None


class ConfigRepository:
    """Mailboxes and webhook sources, edited by admins."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def mailboxes(self) -> dict[str, dict[str, Any]]:
        rows = (await self._session.execute(select(mailboxes))).mappings()
        return {r["address"]: dict(r) for r in rows}

    async def put_mailbox(
        self, address: str, brand: str, tags: list[str], now: datetime, trusted_list_ids: list[str] | None = None
    ) -> None:
        values = {"brand": brand, "tags": tags, "trusted_list_ids": trusted_list_ids or []}
        stmt = pg_insert(mailboxes).values(address=address, created_at=now, **values)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=["address"], set_=values))

    async def delete_mailbox(self, address: str) -> bool:
        deleted = mailboxes.delete().where(mailboxes.c.address == address).returning(mailboxes.c.address)
        return (await self._session.execute(deleted)).first() is not None

    async def source(self, name: str) -> dict[str, Any] | None:
        row = (
            (await self._session.execute(select(webhook_sources).where(webhook_sources.c.name == name)))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def sources(self) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in (await self._session.execute(select(webhook_sources).order_by(webhook_sources.c.name))).mappings()
        ]

    async def put_source(self, name: str, kind: str, secrets: list[str], brand: str, now: datetime) -> None:
        stmt = pg_insert(webhook_sources).values(
            name=name, kind=kind, secrets=secrets, brand=brand, created_at=now, updated_at=now
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"kind": kind, "secrets": secrets, "brand": brand, "updated_at": now}
            )
        )

    async def delete_source(self, name: str) -> bool:
        deleted = webhook_sources.delete().where(webhook_sources.c.name == name).returning(webhook_sources.c.name)
        return (await self._session.execute(deleted)).first() is not None
