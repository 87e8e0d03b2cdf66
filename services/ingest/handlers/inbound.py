"""Applying the commands a webhook adapter produced: find the ticket by its external id, decide, save."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain import decide, limits
from services.ingest.domain.inbound import (
    Attachment,
    Ignored,
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
)
from services.ingest.handlers.tickets import ExternalRefTaken, handle_open_ticket, load_for_update, save_change
from shared.clock import Clock
from shared.events.tickets import ExternalRef, Requester
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Applied:
    """What one command did; the webhook's 202 body lists these."""

    action: str  # ticket_opened, message_added, status_changed, ..., unchanged, ignored
    ticket_id: str | None = None
    reference: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _attachments(items: Iterable[Attachment]) -> tuple[dict[str, str | int], ...]:
    return tuple({"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in items)


async def apply_commands(
    commands: Sequence[InboundCommand], *, uow: UnitOfWork, clock: Clock, reference_prefix: str, brand: str, via: str
) -> list[Applied]:
    for command in commands:
        # before anything is written: a field over its bound would give an event the broker refuses
        limits.check(limits.command_problems(command))
    results = []
    for command in commands:
        results.append(await _apply(command, uow=uow, clock=clock, prefix=reference_prefix, brand=brand, via=via))
    return results


async def _apply(cmd: InboundCommand, *, uow: UnitOfWork, clock: Clock, prefix: str, brand: str, via: str) -> Applied:
    if isinstance(cmd, Ignored):
        return Applied("ignored", reason=cmd.reason)
    if isinstance(cmd, InboundTicket):
        try:
            ticket, _ = await handle_open_ticket(
                _open_command(cmd, brand, via), uow=uow, clock=clock, reference_prefix=prefix
            )
        except ExternalRefTaken as taken:
            return await _describe_known(cmd, taken.ticket_id, uow=uow, clock=clock, via=via)
        if cmd.status not in ("new", "open"):
            ticket = await save_change(uow, decide.change_status(ticket, cmd.status, now=clock.now()))
        return Applied("ticket_opened", ticket.id, ticket.reference)

    ticket_id = await TicketRepository(uow.session).ticket_id_for_ref(cmd.source, cmd.external_id)
    if ticket_id is None:
        if not (isinstance(cmd, InboundMessage) and cmd.author_kind == "customer"):
            return Applied("ignored", reason=f"{cmd.source} ticket {cmd.external_id} is unknown here")
        # a conversation that began before this webhook existed: its first message we see opens it
        try:
            ticket, _ = await handle_open_ticket(
                _open_command(_ticket_of_first_message(cmd), brand, via), uow=uow, clock=clock, reference_prefix=prefix
            )
        except ExternalRefTaken as taken:
            ticket_id = taken.ticket_id  # opened by a concurrent delivery a moment ago: the message goes on it
        else:
            return Applied(
                "ticket_opened", ticket.id, ticket.reference, reason="first message seen of an unknown ticket"
            )

    ticket = await load_for_update(uow, ticket_id)
    now = clock.now()
    try:
        if isinstance(cmd, InboundMessage):
            if cmd.external_message_id and await _seen_message(uow, ticket.id, cmd.external_message_id):
                return Applied("unchanged", ticket.id, ticket.reference, reason="message already recorded")
            change = decide.add_message(
                ticket,
                decide.AddMessage(
                    body=cmd.body,
                    author_kind=cmd.author_kind,
                    public=cmd.public,
                    author_name=cmd.author_name,
                    author_email=cmd.author_email,
                    via=via,
                    external_message_id=cmd.external_message_id,
                    attachments=_attachments(cmd.attachments),
                ),
                message_id=str(uuid.uuid4()),
                now=now,
            )
            action = "message_added"
        elif isinstance(cmd, InboundStatusChange):
            if cmd.status == "closed" and ticket.status not in ("solved", "closed"):
                # the platform is the record here: it closed the ticket, so it passes through solved first
                ticket = await save_change(uow, decide.change_status(ticket, "solved", now=now))
            change, action = decide.change_status(ticket, cmd.status, now=now), "status_changed"
        elif isinstance(cmd, InboundPriorityChange):
            change, action = decide.change_priority(ticket, cmd.priority, now=now), "priority_changed"
        elif isinstance(cmd, InboundFieldsChange):
            change, action = (
                decide.change_fields(ticket, tags=cmd.tags, custom_fields=cmd.custom_fields, now=now),
                "fields_changed",
            )
        elif isinstance(cmd, InboundRating):
            change, action = decide.rate_satisfaction(ticket, cmd.rating, cmd.comment, now=now), "satisfaction_rated"
        else:  # pragma: no cover - the union is exhaustive
            raise TypeError(type(cmd))
    except (decide.InvalidChange, limits.FieldTooLarge) as exc:  # too large: the merged fields are over bounds
        return Applied("ignored", ticket.id, ticket.reference, reason=str(exc))
    await save_change(uow, change)
    return Applied(action if change.events else "unchanged", ticket.id, ticket.reference)


async def _describe_known(cmd: InboundTicket, ticket_id: str, *, uow: UnitOfWork, clock: Clock, via: str) -> Applied:
    """`ticket.created` for a known ticket changes nothing, unless the ticket was opened from a first
    message that raced this delivery: then it lacks the description, which is added as a message."""
    ticket = await load_for_update(uow, ticket_id)
    known = Applied(
        "unchanged", ticket.id, ticket.reference, reason=f"{cmd.source} ticket {cmd.external_id} is already known"
    )
    thread = await TicketRepository(uow.session).messages_of(ticket.id)
    if not cmd.body.strip() or any(m.body == cmd.body for m in thread):
        return known
    try:
        change = decide.add_message(
            ticket,
            decide.AddMessage(
                body=cmd.body,
                author_kind="customer",
                author_name=cmd.requester.name,
                author_email=(cmd.requester.email or "").strip().lower() or None,
                via=via,
                attachments=_attachments(cmd.attachments),
            ),
            message_id=str(uuid.uuid4()),
            now=clock.now(),
        )
    except decide.InvalidChange:
        return known
    await save_change(uow, change)
    return Applied(
        "message_added", ticket.id, ticket.reference, reason="the ticket's description, seen after its first message"
    )


async def _seen_message(uow: UnitOfWork, ticket_id: str, external_message_id: str) -> bool:
    return await TicketRepository(uow.session).has_external_message(ticket_id, external_message_id)


def _ticket_of_first_message(cmd: InboundMessage) -> InboundTicket:
    first_line = cmd.body.strip().splitlines()[0][:120] if cmd.body.strip() else ""
    return InboundTicket(
        cmd.source, cmd.external_id, "webhook", first_line, cmd.body, _requester(cmd), attachments=cmd.attachments
    )


def _requester(cmd: InboundMessage) -> Requester:
    return Requester(email=(cmd.author_email or "").lower() or None, name=cmd.author_name)


def _open_command(cmd: InboundTicket, brand: str, via: str) -> decide.OpenTicket:
    requester = cmd.requester
    if requester.email:
        requester = requester.model_copy(update={"email": requester.email.strip().lower()})
    return decide.OpenTicket(
        channel=cmd.channel,
        subject=cmd.subject or "(no subject)",
        body=cmd.body,
        requester=requester,
        brand=cmd.brand if cmd.brand != "default" else brand,
        priority=cmd.priority,
        language=cmd.language,
        tags=cmd.tags,
        custom_fields=cmd.custom_fields,
        external_ref=ExternalRef(source=cmd.source, external_id=cmd.external_id) if cmd.external_id else None,
        inbox=cmd.source,
        via=via,
        attachments=_attachments(cmd.attachments),
    )
