"""Agents' tools: read tickets, reply or note, change status/priority/tags/fields, record CSAT."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ParamSpec

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.ingest.adapters.repository import TicketFilter, TicketRepository
from services.ingest.domain import decide, limits
from services.ingest.domain.model import Ticket
from services.ingest.entrypoints.deps import clock_of, invalid_fields, once, settings_of
from services.ingest.entrypoints.schemas import (
    MessageCreate,
    MessageOut,
    SatisfactionCreate,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from services.ingest.handlers.authors import author_of
from services.ingest.handlers.notifications import queue_reply_notification
from services.ingest.handlers.tickets import (
    ExternalRefTaken,
    TicketNotFound,
    find_ticket,
    handle_open_ticket,
    save_change,
)
from shared.auth import Principal
from shared.auth.web import require
from shared.events.tickets import AuthorKind, Channel, Priority, Status
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/tickets", tags=["tickets"], dependencies=[reject_unknown_query()])
_P = ParamSpec("_P")
# every /v1/tickets/{ticket_id} route takes either; handlers.tickets.find_ticket resolves them
TicketKey = Annotated[str, Path(description="the ticket's id, or its human reference (`SB-1088`)")]


@router.post("", status_code=201, response_model=TicketOut)
async def create_ticket(
    body: TicketCreate,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "platform")),
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """Open a ticket; 201 once it and its events are committed. `Idempotency-Key` makes retries safe.

    An `external_ref` belongs to its source: only that source's platform key (or an admin) may set it,
    or anyone could capture a platform's later messages. A platform's tickets are filed under its source.
    """
    ref = body.external_ref
    if ref and principal.role != "admin" and not (principal.role == "platform" and ref.source == principal.source):
        raise Problem(
            403,
            f"external_ref.source: only a platform key of source {ref.source!r} (or an admin) may file tickets under it",
            title="Forbidden",
        )
    scope = f"api:{principal.key_id}"
    source = principal.source if principal.role == "platform" else None

    async def work() -> tuple[int, dict[str, Any]]:
        try:
            ticket, first = await handle_open_ticket(
                body.to_command(source=source),
                uow=uow,
                clock=clock_of(request),
                reference_prefix=settings_of(request).reference_prefix,
            )
        except ExternalRefTaken as exc:
            raise Problem(
                409, f"{exc.ref.source} ticket {exc.ref.external_id} already exists", ticket_id=exc.ticket_id
            ) from None
        return 201, TicketOut.of(ticket, [first]).model_dump(mode="json")

    return await once(uow, clock_of(request), scope, idempotency_key, work)


def _cursor(ticket: Ticket) -> str:
    return base64.urlsafe_b64encode(f"{ticket.created_at.isoformat()}|{ticket.id}".encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        created, _, ticket_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), ticket_id
    except (ValueError, UnicodeDecodeError):
        raise Problem(422, "cursor: not a cursor this API returned", title="Invalid request") from None


@router.get("", response_model=TicketPage)
async def list_tickets(
    status: Status | None = None,
    brand: str | None = None,
    channel: Channel | None = None,
    priority: Priority | None = None,
    queue: str | None = Query(None, description="the router's queue (learnt from its routing events)"),
    tag: list[str] = Query([], description="repeatable: tickets with every one of these tags"),
    requester: str | None = Query(None, description="requester email"),
    external_source: str | None = None,
    external_id: str | None = None,
    assignee: str | None = Query(None, description="an agent id, or `none` for unassigned tickets"),
    created_after: AwareDatetime | None = Query(None, description="ISO-8601 with a timezone; inclusive"),
    created_before: AwareDatetime | None = Query(None, description="ISO-8601 with a timezone; exclusive"),
    q: str | None = Query(
        None,
        min_length=1,
        max_length=500,
        description='full-text search of the subject and message bodies (web search syntax: words, "a phrase", -not)',
    ),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("agent", "manager")),
) -> TicketPage:
    """Newest first, filtered (every filter given must match); follow `next_cursor` for the next page."""
    filters = TicketFilter(
        status=status,
        brand=brand,
        channel=channel,
        priority=priority,
        queue=queue,
        tags=decide.normalise_tags(tag),
        requester_email=requester,
        external_source=external_source,
        external_id=external_id,
        assignee=None if assignee == "none" else assignee,
        unassigned=assignee == "none",
        created_after=created_after,
        created_before=created_before,
        text=q,
    )
    tickets = await TicketRepository(uow.session).list(filters, after=_after(cursor), limit=limit + 1)
    page, more = tickets[:limit], len(tickets) > limit
    return TicketPage(items=[TicketOut.of(t) for t in page], next_cursor=_cursor(page[-1]) if more else None)


@router.get("/{ticket_id}", response_model=TicketOut)
async def get_ticket(
    ticket_id: TicketKey,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager", "platform")),
) -> TicketOut:
    """By id or by reference (`SB-1088`). A platform key sees only its own source's tickets, and never
    internal notes (it speaks for customers)."""
    try:
        ticket = await find_ticket(uow, ticket_id)
    except TicketNotFound:
        raise _no_ticket(ticket_id) from None
    messages = await TicketRepository(uow.session).messages_of(ticket.id)
    if principal.role == "platform":
        if not _belongs_to_source(ticket, principal.source):
            raise Problem(403, f"{ticket.reference} does not belong to source {principal.source!r}", title="Forbidden")
        messages = [m for m in messages if m.public]
    return TicketOut.of(ticket, messages)


def _belongs_to_source(ticket: Ticket, source: str | None) -> bool:
    """Filed under the source: its external reference, or the source it came in through (never a
    support address: a platform key is not a mailbox's owner)."""
    return source is not None and (
        (ticket.external_ref is not None and ticket.external_ref.source == source)
        or (ticket.inbox == source and "@" not in source)
    )


def _no_ticket(key: str) -> Problem:
    message = f"no ticket with id or reference {key!r}"
    return Problem(404, f"ticket_id: {message}", errors=[{"field": "path.ticket_id", "message": message}])


async def _ticket_for(uow: UnitOfWork, ticket_id: str, principal: Principal) -> Ticket:
    """Row-locked, by id or reference, and only if the caller may change it."""
    try:
        ticket = await find_ticket(uow, ticket_id, for_update=True)
    except TicketNotFound:
        raise _no_ticket(ticket_id) from None
    if principal.role == "agent" and ticket.assignee_agent_id != principal.agent_id:
        raise Problem(403, f"{ticket.reference} is not assigned to agent {principal.agent_id!r}", title="Forbidden")
    if principal.role == "platform" and not _belongs_to_source(ticket, principal.source):
        raise Problem(403, f"{ticket.reference} does not belong to source {principal.source!r}", title="Forbidden")
    return ticket


def _apply(change_fn: Callable[_P, decide.Change], *args: _P.args, **kwargs: _P.kwargs) -> decide.Change:
    try:
        return change_fn(*args, **kwargs)
    except decide.InvalidChange as exc:
        raise Problem(409, str(exc)) from None
    except limits.FieldTooLarge as exc:
        raise invalid_fields(exc.problems) from None  # a field over its bound (domain/limits.py)


@router.post("/{ticket_id}/messages", status_code=201, response_model=MessageOut)
async def add_message(
    ticket_id: TicketKey,
    body: MessageCreate,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "platform")),
) -> MessageOut:
    """An agent's public reply or internal note (a platform key posts as the customer)."""
    ticket = await _ticket_for(uow, ticket_id, principal)
    author: AuthorKind = "customer" if principal.role == "platform" else "agent"
    signed = await author_of(uow, principal, ticket, author)
    change = _apply(
        decide.add_message,
        ticket,
        decide.AddMessage(
            body=body.body,
            author_kind=author,
            public=body.public or author == "customer",
            author_name=signed.name,
            author_email=signed.email,
            author_agent_id=principal.agent_id,
            via="api",
            email_message_id=_our_message_id(request) if ticket.channel == "email" and body.public else None,
        ),
        message_id=str(uuid.uuid4()),
        now=clock_of(request).now(),
    )
    await save_change(uow, change)
    assert change.message is not None
    if change.message.email_message_id and author == "agent":
        await queue_reply_notification(
            uow, change.ticket, change.message, settings_of(request), clock_of(request).now()
        )
    await uow.commit()
    return MessageOut.of(change.message)


def _our_message_id(request: Request) -> str:
    """The Message-ID our notification of this reply carries, so the customer's answer threads back."""
    return f"{uuid.uuid4()}@{settings_of(request).mail_domain}"


@router.patch("/{ticket_id}", response_model=TicketOut)
async def patch_ticket(
    ticket_id: TicketKey,
    body: TicketPatch,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> TicketOut:
    ticket = await _ticket_for(uow, ticket_id, principal)
    now = clock_of(request).now()
    if body.tags is not None or body.custom_fields is not None:
        ticket = await save_change(
            uow,
            _apply(
                decide.change_fields,
                ticket,
                tags=tuple(body.tags) if body.tags is not None else None,
                custom_fields=body.custom_fields,
                now=now,
            ),
        )
    if body.priority is not None:
        ticket = await save_change(uow, _apply(decide.change_priority, ticket, body.priority, now=now))
    if body.status is not None:
        ticket = await save_change(uow, _apply(decide.change_status, ticket, body.status, now=now))
    await uow.commit()
    return TicketOut.of(ticket)


@router.post("/{ticket_id}/satisfaction", response_model=TicketOut)
async def rate(
    ticket_id: TicketKey,
    body: SatisfactionCreate,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("platform")),
) -> TicketOut:
    """CSAT good/bad with an optional comment, as the customer gave it (through their platform)."""
    ticket = await _ticket_for(uow, ticket_id, principal)
    ticket = await save_change(
        uow, _apply(decide.rate_satisfaction, ticket, body.rating, body.comment, now=clock_of(request).now())
    )
    await uow.commit()
    return TicketOut.of(ticket)
