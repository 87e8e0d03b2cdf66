"""Queueing and sending the emails of agents' public replies (a transactional outbox for mail).

A mail is `queued`, then `sending` while a sender holds its lease, then `sent` (or `failed`
after MAX_ATTEMPTS); a failed attempt puts it back to `queued` with a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any

from services.ingest.adapters.outgoing_emails import OutgoingEmails
from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain.model import Message, Ticket
from services.ingest.domain.notifications import compose_reply
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
# longer than a send can take (each SMTP step times out after 30 s)
SEND_LEASE = timedelta(minutes=5)


async def queue_reply_notification(
    uow: UnitOfWork, ticket: Ticket, reply: Message, settings: IngestSettings, now: datetime
) -> None:
    """In the same transaction as the reply: the mail is sent if and only if the reply exists."""
    thread = await TicketRepository(uow.session).messages_of(ticket.id)
    support = ticket.inbox if ticket.inbox and "@" in ticket.inbox else settings.default_from_address
    mail, recipients = compose_reply(
        ticket, reply, [*thread, reply], support_address=support, brand_name=ticket.brand, now=now
    )
    if not recipients:
        return
    await OutgoingEmails(uow.session).queue(
        email_id=reply.id,
        ticket_id=ticket.id,
        message_id=reply.email_message_id,
        recipients=recipients,
        raw=bytes(mail),
        now=now,
    )


def _send(settings: IngestSettings, sender: str, recipients: list[str], raw: bytes) -> None:
    assert settings.smtp_relay_host
    with smtplib.SMTP(settings.smtp_relay_host, settings.smtp_relay_port, timeout=30) as smtp:
        if settings.smtp_relay_starttls:
            smtp.starttls()
        if settings.smtp_relay_username:
            smtp.login(settings.smtp_relay_username, settings.smtp_relay_password or "")
        smtp.sendmail(sender, recipients, raw)


async def send_due(runtime: Runtime, settings: IngestSettings, limit: int = 20) -> int:
    """Send what is due, one mail at a time, never inside a database transaction.

    Each mail is claimed (committed as `sending` for SEND_LEASE, so no replica takes it
    meanwhile), sent with no transaction open, then its result is recorded in a new short
    transaction. A crash between the send and the record sends it again after the lease:
    delivery is at least once.
    """
    sent = 0
    for _ in range(limit):
        async with runtime.uow() as uow:
            row = await OutgoingEmails(uow.session).claim_next_due(runtime.clock.now(), lease=SEND_LEASE)
            await uow.commit()
        if row is None:
            return sent
        try:
            await asyncio.to_thread(_send, settings, settings.default_from_address, list(row["recipients"]), row["raw"])
        except (OSError, smtplib.SMTPException) as exc:
            error: str | None = str(exc)[:500] or type(exc).__name__
            log.warning("notification %s not sent (attempt %d): %s", row["id"], row["attempts"], exc)
        else:
            error = None
            sent += 1
        await _record_attempt(runtime, row, error)
    return sent


async def _record_attempt(runtime: Runtime, row: dict[str, Any], error: str | None) -> None:
    async with runtime.uow() as uow:
        queue, now = OutgoingEmails(uow.session), runtime.clock.now()
        if error is None:
            await queue.mark_sent(row["id"], now=now)
        else:
            attempts = row["attempts"]
            await queue.mark_failed_attempt(
                row["id"],
                error=error,
                status="failed" if attempts >= MAX_ATTEMPTS else "queued",
                next_attempt_at=now + timedelta(seconds=min(3600, 15 * 2**attempts)),
            )
        await uow.commit()


async def run_mail_sender(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = as_ingest_settings(runtime.settings)
    if not settings.smtp_relay_host:
        log.info("no SMTP relay configured (SMTP_RELAY_HOST): reply notifications stay queued")
        return
    while not stop.is_set():
        await send_due(runtime, settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.mail_send_interval_s)
