"""Fan-out of events to webhook subscriptions, and the worker that sends every delivery.

The worker claims due deliveries in a short transaction (marked `delivering` with a lease),
sends them with no transaction open, each in its own task, and records each attempt in a new
short transaction. In flight at once: at most `delivery_concurrency`, and at most
`delivery_per_host_concurrency` per target host, so a subscriber that hangs holds only its own
slots while every other host's deliveries go on. A worker that dies mid-send leaves rows
`delivering`; they come due again when the lease ends and are sent again with the same
`webhook-id`, so delivery is at least once and receivers drop repeats by that id.

It sleeps until the next delivery is due, at most `delivery_idle_wake_s`, and wakes at once on
a NOTIFY (every `enqueue` and replay sends one on commit; heard on a connection of its own,
`shared.messaging.notify`, which also wakes it after reconnecting) or when a slot frees. The sleep
is the runtime's clock's `sleep_until`: on a test's FakeClock, `advance()` ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter as Tally
from datetime import datetime, timedelta

from prometheus_client import Counter, Histogram

from services.escalation.adapters import deliveries as store
from services.escalation.adapters import subscriptions
from services.escalation.adapters.transport import Answer, HttpSender, compose_mail, send_mail, target_problem
from services.escalation.domain import deliveries as rules
from services.escalation.settings import EscalationSettings, as_escalation_settings
from shared.clock import Clock
from shared.events import Envelope, Event
from shared.messaging.notify import Listener
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "switchboard_escalation_deliveries_total",
    "Delivery attempts by channel and outcome (delivered, retrying, failed)",
    ["channel", "outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "switchboard_escalation_delivery_attempt_seconds", "Time one delivery attempt took", ["channel"]
)


async def fan_out(event: Event, *, envelope: Envelope, uow: UnitOfWork, clock: Clock) -> None:
    """One delivery of the whole CloudEvents envelope per active subscription taking its type."""
    subscribers = await subscriptions.subscribers_of(uow.session, envelope.type)
    if not subscribers:
        return  # the common case: nobody takes this type, and the envelope is not even dumped
    payload = envelope.model_dump(mode="json")
    for subscriber in subscribers:
        await store.enqueue(
            uow.session,
            channel="webhook",
            target=subscriber.url,
            secret=subscriber.secret,
            event_type=envelope.type,
            payload=payload,
            idempotency_key=f"sub:{subscriber.id}:{envelope.id}",
            now=clock.now(),
            subscription_id=subscriber.id,
        )


class DeliveryWorker:
    def __init__(self, runtime: Runtime, settings: EscalationSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.policy = rules.RetryPolicy(
            base_s=settings.delivery_backoff_base_s,
            cap_s=settings.delivery_backoff_cap_s,
            max_age_s=settings.delivery_max_age_s,
            max_attempts=settings.delivery_max_attempts,
        )
        self.wake = asyncio.Event()
        self.in_flight: Tally[str] = Tally()
        self.tasks: dict[asyncio.Task[None], store.Claimed] = {}
        # email waits in the queue until a relay is configured
        self.channels = ("webhook", "slack", "email") if settings.smtp_relay_host else ("webhook", "slack")
        self.http = HttpSender(timeout_s=settings.delivery_timeout_s, max_connections=settings.delivery_concurrency)

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def busy_hosts(self) -> list[str]:
        return sorted(h for h, n in self.in_flight.items() if n >= self.settings.delivery_per_host_concurrency)

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self.wake.set())
        listener = Listener(
            self.runtime.settings.database_url,
            store.NOTIFY_CHANNEL,
            self.wake,
            application_name=f"{self.runtime.definition.name}-deliveries",
        )
        try:
            async with listener:
                while not stop.is_set():
                    self.wake.clear()
                    if await self.claim() == 0:
                        await self.clock.sleep_until(await self._next_wake(), self.wake)
        finally:
            stopping.cancel()
            await self.drain()
            await self.http.close()

    async def _next_wake(self) -> datetime:
        """The next delivery's due time, at most `delivery_idle_wake_s` from now."""
        due = await self.next_due()
        latest = self.clock.now() + timedelta(seconds=self.settings.delivery_idle_wake_s)
        return latest if due is None else min(due, latest)

    async def claim(self) -> int:
        """Claim and start what is due and fits the limits; returns how many started."""
        free = self.settings.delivery_concurrency - len(self.tasks)
        if free <= 0:
            return 0
        now = self.clock.now()
        async with self.runtime.uow() as uow:
            candidates = await store.due_candidates(
                uow.session,
                now,
                limit=min(free, self.settings.delivery_batch_size) * 2,
                busy_hosts=self.busy_hosts(),
                channels=self.channels,
            )
            chosen = rules.pick(
                candidates, self.in_flight, per_host=self.settings.delivery_per_host_concurrency, free=free
            )
            lease_until = now + timedelta(seconds=self.settings.delivery_lease_s)
            claimed = await store.take(uow.session, chosen, lease_until=lease_until)
            await uow.commit()
        for row in claimed:
            self.in_flight[row.target_host] += 1
            task = asyncio.create_task(self.deliver(row), name=f"delivery:{row.id}")
            self.tasks[task] = row
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        row = self.tasks.pop(task)
        self.in_flight[row.target_host] -= 1
        if self.in_flight[row.target_host] <= 0:
            del self.in_flight[row.target_host]
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery %s: %s", row.id, rules.short_error(repr(task.exception())))
        self.wake.set()  # a slot is free

    async def next_due(self) -> datetime | None:
        async with self.runtime.uow() as uow:
            return await store.next_due_at(uow.session, busy_hosts=self.busy_hosts(), channels=self.channels)

    async def deliver(self, row: store.Claimed) -> None:
        try:
            answer = await self.attempt(row)
        except Exception as exc:  # a delivery that cannot even be tried still counts and ends, never loops
            # the type only: a message might quote what the delivery carries
            answer = Answer(None, f"could not send: {type(exc).__name__}", 0)
        ATTEMPT_SECONDS.labels(row.channel).observe(answer.latency_ms / 1000)
        now = self.clock.now()
        error = rules.short_error(answer.error.replace(row.target, row.target_host)) if answer.error else None
        if rules.delivered(answer.status) and error is None:
            state, retry_at = "delivered", None
        else:
            retry_at = rules.next_attempt_at(row.attempts, row.queued_at, now, self.policy, random.random())
            state = "pending" if retry_at is not None else "failed"
        async with self.runtime.uow() as uow:
            kept = await store.record_attempt(
                uow.session,
                row,
                at=now,
                status=answer.status,
                error=error,
                latency_ms=answer.latency_ms,
                state=state,
                next_attempt_at=retry_at,
            )
            await uow.commit()
        outcome = {"pending": "retrying"}.get(state, state)
        DELIVERIES.labels(row.channel, outcome).inc()
        log.info(
            "delivery %s %s to %s: attempt %d %s%s",
            row.id,
            row.channel,
            row.target_host,
            row.attempts,
            outcome,
            "" if kept else " (lease lost; another worker has it)",
        )

    async def attempt(self, row: store.Claimed) -> Answer:
        if row.channel == "email":
            mail = compose_mail(
                sender=self.settings.delivery_from_address,
                to=row.target,
                subject=rules.email_subject(row.event_type, row.payload),
                text=rules.email_text(row.event_type, row.payload),
                message_id=rules.message_id(row.id, self.settings.mail_domain),
                now=self.clock.now(),
            )
            return await send_mail(self.settings, mail)
        refused = await target_problem(row.target, allow_private=self.settings.allow_private_targets)
        if refused is not None:
            return Answer(None, f"refused: {refused}", 0)
        if row.channel == "slack":
            body = rules.webhook_body(rules.slack_body(row.event_type, row.payload))
            return await self.http.post(row.target, body, {"content-type": "application/json"})
        body = rules.webhook_body(row.payload)
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": row.webhook_id,
            "webhook-timestamp": str(timestamp),
        }
        if row.secret:
            headers["webhook-signature"] = rules.signature(row.secret, row.webhook_id, timestamp, body)
        return await self.http.post(row.target, body, headers)

    async def drain(self, grace_s: float = 5.0) -> None:
        """On stop: let sends in flight finish briefly, then give the rest back to the queue."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace_s)
        unfinished = list(self.tasks.items())
        for task, _ in unfinished:
            task.cancel()
        if unfinished:
            with contextlib.suppress(Exception):
                async with self.runtime.uow() as uow:
                    await store.release(uow.session, [row for _, row in unfinished], self.clock.now())
                    await uow.commit()


async def run_delivery_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """The `escalation-deliveries` worker."""
    await DeliveryWorker(runtime, as_escalation_settings(runtime.settings)).run(stop)
