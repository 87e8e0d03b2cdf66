"""Open-loop load: tickets sent at a fixed offered rate, whatever the answers' speed.

Request i of a step is due at `start + i / rate` and is sent then, on its own task, whether or not the
earlier ones were answered (a closed loop at fixed concurrency would slow down with the system and
hide its queueing). A share goes through SMTP as a mail to the floor's support address, the rest as
signed generic webhooks. For each the generator keeps when it was due, when it was sent and when it
was accepted: the webhook's 202 (committed, not yet on Kafka) or SMTP's 250 (likewise).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from bench import floor
from bench.clients import HttpPool, SmtpPool


@dataclass
class Sent:
    due: float
    sent: float
    accepted: float | None = None  # wall clock of the 202 / 250
    ticket_id: str | None = None  # from the 202; for mail learnt from Kafka by its token
    token: str | None = None  # mail only
    status: int = 0


@dataclass
class Step:
    rate: float
    duration_s: float
    started: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.accepted is not None]

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sent if s.accepted is None)


class Generator:
    def __init__(
        self,
        ingest: HttpPool,
        smtp: SmtpPool,
        customers: floor.Customers,
        *,
        smtp_share: float,
        seed: int = 9,
    ) -> None:
        self.ingest, self.smtp, self.customers = ingest, smtp, customers
        self.smtp_share = smtp_share
        self._rng = random.Random(seed)
        self._inflight: set[asyncio.Task[None]] = set()

    async def run(self, step: Step, backlog: Callable[[], int] | None = None) -> Step:
        """Send `rate * duration_s` tickets on schedule; samples `backlog()` (if given) every 0.5 s."""
        count = round(step.rate * step.duration_s)
        step.started = time.time()
        start = time.monotonic()
        offset = step.started - start  # monotonic -> wall clock
        next_sample = 0.0
        for i in range(count):
            due = start + i / step.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            record = Sent(due=due + offset, sent=time.time())
            step.sent.append(record)
            task = asyncio.create_task(self._one(record))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            if backlog is not None and time.monotonic() - start >= next_sample:
                step.backlog.append(int(backlog()))
                next_sample += 0.5
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=30)
        return step

    async def _one(self, record: Sent) -> None:
        try:
            if self._rng.random() < self.smtp_share:
                await self._mail(record)
            else:
                await self._webhook(record)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            record.status = -1

    async def _webhook(self, record: Sent) -> None:
        raw, headers = floor.signed(self.customers.webhook())
        status, body = await self.ingest.request("POST", f"/v1/webhooks/{floor.SOURCE}", raw, headers)
        record.status = status
        if status == 202:
            record.accepted = time.time()
            record.ticket_id = _ticket_id(body)

    async def _mail(self, record: Sent) -> None:
        sample, requester, _ = self.customers.next()
        token = "m" + uuid.uuid4().hex[:16]
        message = EmailMessage()
        message["From"] = requester["email"]
        message["To"] = floor.MAILBOX
        message["Subject"] = f"{sample.subject} #{token}"
        message["Message-ID"] = f"<{token}@{requester['email'].split('@')[1]}>"
        message.set_content(sample.body)
        record.token = token
        record.status = await self.smtp.send(message)
        if record.status == 250:
            record.accepted = time.time()


def _ticket_id(body: bytes) -> str | None:
    try:
        results = json.loads(body)["results"]
        return str(results[0]["ticket_id"]) if results and results[0].get("ticket_id") else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None
