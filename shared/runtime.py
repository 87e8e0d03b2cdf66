"""What every service process runs: database, producer, outbox relay and consumers.

A service describes itself with a ServiceDefinition; `Runtime` starts the moving
parts in the FastAPI lifespan and stops them in reverse order on shutdown
(uvicorn turns SIGTERM into that shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, text

from shared.auth.consumer import access_subscription
from shared.clock import Clock, SystemClock
from shared.db import DbTimeouts, make_engine, make_sessionmaker
from shared.events import topics
from shared.messaging.consumer import AfterCommit, ConsumerRunner, Subscription
from shared.messaging.kafka import KafkaSecurity, kafka_round_trip, make_consumer, make_producer
from shared.messaging.logfilter import install_repeat_filter
from shared.messaging.relay import OutboxRelay
from shared.messaging.retention import run_retention
from shared.messaging.tables import MessagingTables
from shared.messaging.uow import UnitOfWork
from shared.settings import BaseServiceSettings

log = logging.getLogger(__name__)
_KAFKA_PROBE_CACHE_S = 1.0


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    tables: MessagingTables
    subscriptions: tuple[Subscription, ...] = ()
    # extra handler dependencies, built once the runtime exists (e.g. a repository factory)
    dependencies: Callable[[Runtime], dict[str, Any]] = lambda runtime: {}
    # the service's copy of the API keys; kept in step with ingest by the access subscription
    api_keys: Table | None = None
    # long-running jobs beside the consumers (a listener, a sweeper): run(runtime, stop_event)
    workers: tuple[tuple[str, Callable[[Runtime, asyncio.Event], Awaitable[None]]], ...] = ()

    def all_subscriptions(self) -> tuple[Subscription, ...]:
        if self.api_keys is None:
            return self.subscriptions
        return (*self.subscriptions, access_subscription(self.name, self.api_keys))


@dataclass
class Runtime:
    definition: ServiceDefinition
    settings: BaseServiceSettings
    clock: Clock = field(default_factory=SystemClock)
    # per-process objects a service hangs on its runtime (e.g. ingest's chat hub)
    extensions: dict[str, Any] = field(default_factory=dict)
    # handed to every consumer runner: called after each handled record's commit, before its offset commit
    after_commit: AfterCommit | None = None

    def __post_init__(self) -> None:
        # aiokafka clients need a running loop, so everything is built in start()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.producer_started = asyncio.Event()
        self._kafka_probe_lock = asyncio.Lock()
        self._kafka_probe: tuple[float, str] = (float("-inf"), "")

    def _build(self) -> None:
        self.kafka_security = KafkaSecurity.from_settings(self.settings)
        self.engine = make_engine(
            self.settings.database_url,
            pool_size=self.settings.db_pool_size,
            application_name=self.definition.name,
            timeouts=DbTimeouts.from_settings(self.settings),
        )
        self.sessionmaker = make_sessionmaker(self.engine)
        self.relay = OutboxRelay(
            self.engine,
            self.definition.tables,
            self._new_producer(),
            service=self.definition.name,
            batch_size=self.settings.relay_batch_size,
            poll_interval_s=self.settings.relay_poll_interval_s,
            unknown_topic_grace_s=self.settings.relay_unknown_topic_grace_s,
            clock=self.clock,
            producer_factory=self._new_producer,
        )

    def _new_producer(self) -> AIOKafkaProducer:
        return make_producer(
            self.settings.kafka_bootstrap_servers, client_id=self.definition.name, security=self.kafka_security
        )

    @property
    def producer(self) -> AIOKafkaProducer:
        """The relay's producer (it replaces it after Kafka refuses a record batch)."""
        return self.relay.producer

    def uow(self) -> UnitOfWork:
        return UnitOfWork(
            self.sessionmaker,
            self.definition.tables,
            source=f"/switchboard/{self.definition.name}",
            clock=self.clock,
            on_commit=self.relay.nudge,
            max_event_bytes=self.settings.max_event_bytes,
        )

    async def start(self) -> None:
        install_repeat_filter(self.settings.kafka_log_repeat_interval_s)
        self._build()
        self._stop.clear()
        self.producer_started.clear()
        self._spawn("producer", self._run_producer)
        for subscription in self.definition.all_subscriptions() if self.settings.run_consumers else ():
            self._spawn(f"consumer:{subscription.consumer}", functools.partial(self._run_consumer, subscription))
        for name, worker in self.definition.workers:
            self._spawn(name, functools.partial(worker, self, self._stop))
        self._spawn(
            "retention",
            lambda: run_retention(
                self.engine,
                self.definition.tables,
                self.clock,
                self._stop,
                interval_s=self.settings.retention_interval_s,
                outbox_days=self.settings.outbox_retention_days,
                inbox_days=self.settings.inbox_retention_days,
            ),
        )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self._tasks.clear()
        await self.producer.stop()
        await self.engine.dispose()

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(name, run), name=name))

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Keep a component running: Kafka or Postgres being down at start is waited out, not fatal."""
        while not self._stop.is_set():
            try:
                await run()
                return
            except Exception:
                log.exception("%s failed; restarting in 2 s", name)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=2)

    async def _run_producer(self) -> None:
        if not self.producer_started.is_set():
            try:
                await self.producer.start()
            except Exception:
                # a producer whose start failed cannot be started again: build a fresh one
                await self.producer.stop()
                self.relay.producer = self._new_producer()
                raise
            self.producer_started.set()
        if self.settings.run_relay:
            await self.relay.run(self._stop)
        else:  # this process's commits still wake the relay that publishes, wherever it runs
            await self.relay.forward(self._stop)

    async def _run_consumer(self, subscription: Subscription) -> None:
        runner = ConsumerRunner(
            subscription,
            self.uow,
            dependencies={"clock": self.clock, **self.definition.dependencies(self)},
            max_attempts=self.settings.consumer_max_handler_attempts,
            after_commit=self.after_commit,
        )
        consumer = make_consumer(
            self.settings.kafka_bootstrap_servers,
            group_id=f"switchboard-{subscription.consumer}",
            client_id=f"{self.definition.name}-{subscription.consumer}",
            security=self.kafka_security,
        )
        await consumer.start()
        try:
            await runner.run(consumer, self._stop)
        finally:
            await consumer.stop()

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state; the service is ready when all say ok."""
        return {"database": await self._check_database(), "kafka": await self._check_kafka()}

    async def _check_database(self) -> str:
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("select 1")), timeout=2)
            return "ok"
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}: {exc}"[:300]

    async def _check_kafka(self) -> str:
        if not self.producer_started.is_set():
            return "unreachable: producer not connected yet"
        # one round trip at a time, its answer reused for a second, so probes stay cheap
        async with self._kafka_probe_lock:
            checked_at, state = self._kafka_probe
            if time.monotonic() - checked_at >= _KAFKA_PROBE_CACHE_S:
                state = await kafka_round_trip(self.producer, topics.TICKETS, timeout_s=2.0)
                self._kafka_probe = (time.monotonic(), state)
            return state
