"""One inbound email, from any route, to a ticket, a message on a ticket, or a recorded refusal.

Order of checks (each outcome is recorded in `inbound_emails` with its reason):
parse (else quarantined with the raw bytes) -> support address (else not_for_us) ->
machine-generated or loop (automated, raw kept) -> duplicate of an accepted copy within the
dedupe window (duplicate) -> threading decision (message_added or ticket_opened).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from services.ingest.adapters.repository import ConfigRepository, InboundEmailLog, TicketRepository
from services.ingest.domain import decide, limits
from services.ingest.domain.mailboxes import Mailbox, is_own_address, match_mailbox
from services.ingest.domain.model import Ticket
from services.ingest.domain.threading import (
    Candidates,
    KnownTicket,
    ThreadDecision,
    decide_thread,
    plus_tokens,
    references_in_subject,
)
from services.ingest.email import EmailParseError, ParsedEmail, automated_reason, parse_email
from services.ingest.handlers.tickets import handle_open_ticket, load_for_update, save_change, warm_language_profiles
from services.ingest.metrics import INBOUND_EMAILS
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.clock import Clock
from shared.events.tickets import Requester
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

# what became of an inbound email (`inbound_emails.outcome`)
InboundOutcome = Literal["ticket_opened", "message_added", "duplicate", "automated", "not_for_us", "quarantined"]


@dataclass(frozen=True)
class EmailOutcome:
    inbound_id: str
    outcome: str  # ticket_opened, message_added, duplicate, automated, not_for_us, quarantined
    reason: str
    ticket_id: str | None = None
    reference: str | None = None
    message_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in ("ticket_opened", "message_added", "duplicate")

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class MailParsers:
    """Worker processes for big mail, started on first use; spawned, not forked, because this
    process runs threads (the loop's executor, the Kafka clients)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def parse(self, raw: bytes, settings: IngestSettings) -> ParsedEmail:
        parse = functools.partial(parse_email, max_attachment_bytes=settings.max_attachment_bytes)
        if len(raw) < settings.mail_parse_process_bytes:
            return await asyncio.to_thread(parse, raw)
        if self._pool is None:
            await self.start(settings)
        assert self._pool is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, parse, raw)
        except BrokenProcessPool:
            self._pool = None  # a worker died (out of memory?): the next mail gets a new pool
            raise

    async def start(self, settings: IngestSettings) -> None:
        """Spawn a worker now, so the first big mail does not wait for one."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(settings.mail_parse_processes, mp_context=context)
        await asyncio.get_running_loop().run_in_executor(self._pool, len, b"")

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


PARSERS = MailParsers()


async def run_mail_parsers(runtime: Runtime, stop: asyncio.Event) -> None:
    """Starts what parsing a mail needs before the first one comes (a parser process, the language
    profiles), and stops the parser processes with the service."""
    try:
        await PARSERS.start(as_ingest_settings(runtime.settings))
        await warm_language_profiles()
        await stop.wait()
    finally:
        PARSERS.shutdown()


async def parse_off_the_loop(raw: bytes, settings: IngestSettings) -> ParsedEmail:
    """Parse without stalling the event loop: a big mail (half a second of CPU at 30 MB, much of it in
    C calls that hold the GIL, so a thread is not enough) in a worker process, a small one in a thread."""
    return await PARSERS.parse(raw, settings)


async def load_mailboxes(uow: UnitOfWork) -> list[Mailbox]:
    rows = await ConfigRepository(uow.session).mailboxes()
    return [Mailbox(r["address"], r["brand"], tuple(r["tags"]), tuple(r["trusted_list_ids"])) for r in rows.values()]


async def handle_inbound_email(
    raw: bytes,
    *,
    route: str,
    uow: UnitOfWork,
    clock: Clock,
    settings: IngestSettings,
    envelope_recipients: tuple[str, ...] = (),
    delivery_id: str | None = None,
) -> EmailOutcome:
    now = clock.now()
    log = InboundEmailLog(uow.session)
    inbound_id = str(uuid.uuid4())

    async def record(
        outcome: str,
        reason: str,
        mail: ParsedEmail | None,
        *,
        keep_raw: bool = False,
        ticket_id: str | None = None,
        reference: str | None = None,
        message_id: str | None = None,
    ) -> EmailOutcome:
        await log.record(
            id=inbound_id,
            route=route,
            delivery_id=delivery_id,
            received_at=now,
            size=len(raw),
            outcome=outcome,
            reason=reason,
            ticket_id=ticket_id,
            ticket_message_id=message_id,
            raw=raw if keep_raw else None,
            message_id=mail.message_id if mail else None,
            content_hash=mail.content_hash if mail else None,
            from_address=mail.from_address if mail else None,
            subject=mail.subject if mail else None,
            recipients=list(_recipients(mail, envelope_recipients)) if mail else list(envelope_recipients),
        )
        # counted when recorded, before the caller commits: a rolled-back mail (then retried) counts twice
        INBOUND_EMAILS.labels(route, outcome).inc()
        return EmailOutcome(inbound_id, outcome, reason, ticket_id, reference, message_id)

    try:
        mail = await parse_off_the_loop(raw, settings)
    except EmailParseError as exc:
        return await record("quarantined", f"unparseable: {exc}", None, keep_raw=True)

    mailboxes = await load_mailboxes(uow)
    matched = match_mailbox(_recipients(mail, envelope_recipients), mailboxes)
    if matched is None:
        return await record("not_for_us", "no recipient is a configured support address", mail, keep_raw=True)
    mailbox, address = matched

    automated = automated_reason(mail, trusted_list_ids=mailbox.trusted_list_ids)
    if automated is None and is_own_address(mail.from_address, mailboxes):
        automated = "loop:from-own-support-address"
    if automated:
        return await record("automated", automated, mail, keep_raw=True)

    earlier = await log.accepted_with_hash(mail.content_hash, now - timedelta(hours=settings.email_dedupe_hours))
    if earlier:
        return await record(
            "duplicate",
            f"same content as inbound email {earlier['id']}",
            mail,
            ticket_id=earlier["ticket_id"],
            message_id=earlier["ticket_message_id"],
        )

    repo = TicketRepository(uow.session)
    found = await _candidates(repo, mail, envelope_recipients, settings.reference_prefix)
    decision = decide_thread(mail.from_address, found)
    attachments = tuple(
        {
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "inline": a.inline,
            "oversized": a.filename in mail.oversized,
        }
        for a in mail.attachments
    )
    fitted = limits.fit_mail(
        subject=mail.subject or "(no subject)",
        body=mail.reply_text or mail.text,
        from_name=mail.from_name,
        attachments=attachments,
        participants=tuple(a for a in (*mail.to, *mail.cc) if not is_own_address(a, mailboxes)),
    )
    # what was cut is in the raw mail, kept with the record: nothing is lost
    keep_raw = bool(fitted.cut)
    note = f"; cut to limits: {', '.join(fitted.cut)} (raw kept)" if fitted.cut else ""

    if decision.action == "append" and decision.ticket_id:
        ticket = await load_for_update(uow, decision.ticket_id)
        try:
            change = decide.add_message(
                ticket,
                decide.AddMessage(
                    body=fitted.body,
                    author_kind="customer",
                    author_name=fitted.from_name,
                    author_email=mail.from_address,
                    via="email",
                    email_message_id=mail.message_id,
                    attachments=fitted.attachments,
                    new_participants=fitted.participants,
                ),
                message_id=str(uuid.uuid4()),
                now=now,
            )
        except decide.InvalidChange as exc:  # closed between lookup and lock: open a follow-up instead
            decision = ThreadDecision("open", f"{decision.reason}; {exc}", linked_ticket_id=ticket.id)
        else:
            await save_change(uow, change)
            assert change.message is not None
            return await record(
                "message_added",
                decision.reason + note,
                mail,
                keep_raw=keep_raw,
                ticket_id=ticket.id,
                reference=ticket.reference,
                message_id=change.message.id,
            )

    ticket, first = await handle_open_ticket(
        decide.OpenTicket(
            channel="email",
            subject=fitted.subject,
            body=fitted.body,
            requester=Requester(email=mail.from_address, name=fitted.from_name),
            brand=mailbox.brand,
            tags=mailbox.tags,
            inbox=address,
            participants=fitted.participants,
            linked_ticket_id=decision.linked_ticket_id,
            via="email",
            email_message_id=mail.message_id,
            attachments=fitted.attachments,
        ),
        uow=uow,
        clock=clock,
        reference_prefix=settings.reference_prefix,
    )
    return await record(
        "ticket_opened",
        decision.reason + note,
        mail,
        keep_raw=keep_raw,
        ticket_id=ticket.id,
        reference=ticket.reference,
        message_id=first.id,
    )


def _recipients(mail: ParsedEmail, envelope: tuple[str, ...]) -> tuple[str, ...]:
    # the SMTP envelope is the truth when we have it (Bcc, aliases); headers otherwise
    return envelope or (*mail.delivered_to, *mail.x_original_to, *mail.to, *mail.cc)


async def _candidates(repo: TicketRepository, mail: ParsedEmail, envelope: tuple[str, ...], prefix: str) -> Candidates:
    def known(ticket: Ticket | None) -> KnownTicket | None:
        return KnownTicket(ticket.id, ticket.reference, ticket.status, ticket.participants) if ticket else None

    by_header = await repo.ticket_for_email_ids([*mail.in_reply_to, *mail.references])
    by_token = by_reference = None
    for token in plus_tokens(envelope or (*mail.to, *mail.cc)):
        if by_token := await repo.get_by_token(token):
            break
    for reference in references_in_subject(mail.subject, prefix):
        if by_reference := await repo.get_by_reference(reference):
            break
    return Candidates(known(await repo.get(by_header) if by_header else None), known(by_token), known(by_reference))
