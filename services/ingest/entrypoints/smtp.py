"""The inbound SMTP listener (aiosmtpd), in the service's own event loop.

RCPT TO is refused (550) unless the address is a configured support address, so strangers'
mail never enters. DATA is answered 250 only after the mail, its ticket and its events are
committed; any failure answers 451 so the sending server retries later: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope, Session

from services.ingest.domain.mailboxes import match_mailbox
from services.ingest.handlers.email import handle_inbound_email, load_mailboxes
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.runtime import Runtime

log = logging.getLogger(__name__)


class SupportMailHandler:
    def __init__(self, runtime: Runtime, settings: IngestSettings) -> None:
        self.runtime = runtime
        self.settings = settings

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        async with self.runtime.uow() as uow:
            mailboxes = await load_mailboxes(uow)
        if match_mailbox([address], mailboxes) is None:
            return "550 5.1.1 not a support address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            async with self.runtime.uow() as uow:
                outcome = await handle_inbound_email(
                    raw,
                    route="smtp",
                    uow=uow,
                    clock=self.runtime.clock,
                    settings=self.settings,
                    envelope_recipients=tuple(a.lower() for a in envelope.rcpt_tos),
                )
                await uow.commit()
        except Exception:
            log.exception("inbound SMTP message could not be stored; asking the sender to retry")
            return "451 4.3.0 temporary failure, please retry"
        log.info("smtp mail %s: %s (%s)", outcome.inbound_id, outcome.outcome, outcome.reason)
        return f"250 2.0.0 accepted as {outcome.inbound_id}"


async def run_smtp_listener(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = as_ingest_settings(runtime.settings)
    if not settings.smtp_port:
        return
    handler = SupportMailHandler(runtime, settings)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.max_email_bytes,
            hostname=settings.mail_domain,
            decode_data=False,
            enable_SMTPUTF8=True,
        ),
        host=settings.smtp_host,
        port=settings.smtp_port,
    )
    log.info("SMTP listening on %s:%s", settings.smtp_host, settings.smtp_port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
