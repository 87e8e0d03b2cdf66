"""Queueing and sending the emails of agents' public replies (a transactional outbox for mail)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from datetime import datetime, timedelta

from services.ingest.adapters.outgoing_emails import OutgoingEmails
from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain.model import Message, Ticket
from services.ingest.domain.notifications import compose_reply
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


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
    """Send what is due; each mail in its own transaction, rows locked so replicas never send twice."""
    sent = 0
    for _ in range(limit):
        async with runtime.uow() as uow:
            now = runtime.clock.now()
            queue = OutgoingEmails(uow.session)
            row = await queue.lock_next_due(now)
            if row is None:
                return sent
            sender = settings.default_from_address
            try:
                await asyncio.to_thread(_send, settings, sender, list(row["recipients"]), row["raw"])
            except (OSError, smtplib.SMTPException) as exc:
                attempts = row["attempts"] + 1
                log.warning("notification %s not sent (attempt %d): %s", row["id"], attempts, exc)
                await queue.mark_failed_attempt(
                    row["id"],
                    attempts=attempts,
                    error=str(exc)[:500],
                    status="failed" if attempts >= MAX_ATTEMPTS else "queued",
                    next_attempt_at=now + timedelta(seconds=min(3600, 15 * 2**attempts)),
                )
            else:
                await queue.mark_sent(row["id"], attempts=row["attempts"] + 1, now=now)
                sent += 1
            await uow.commit()
    return sent


async def run_mail_sender(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = as_ingest_settings(runtime.settings)
    if not settings.smtp_relay_host:
        log.info("no SMTP relay configured (SMTP_RELAY_HOST): reply notifications stay queued")
        return
    while not stop.is_set():
        await send_due(runtime, settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.mail_send_interval_s)
