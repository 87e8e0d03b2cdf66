"""The projection consumer: one consumer group on the tickets, routing, sla and escalations topics,
named by the projections' generation, so a rebuild (`switchboard rebuild insights`) moves it to a
fresh group that replays every topic from the earliest offset. The rebuild NOTIFYs on commit, which
the watcher LISTENs for; `generation_poll_s` is only the safety net (a notification missed while
the listening connection was down)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from services.insights.adapters.repository import ProjectionRepository
from services.insights.handlers.projections import EVENT_HANDLERS
from services.insights.settings import InsightsSettings
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import make_consumer
from shared.rebuild import REBUILDABLE, group_id, rebuild_channel
from shared.runtime import Runtime
from shared.stack.provision import asyncpg_dsn

log = logging.getLogger(__name__)
SPEC = REBUILDABLE["insights"]
SUBSCRIPTION = Subscription(SPEC.consumer, SPEC.topics, EVENT_HANDLERS)


async def current_generation(runtime: Runtime) -> int:
    async with runtime.uow() as uow:
        return await ProjectionRepository(uow.session).generation()


async def run_projections(runtime: Runtime, stop: asyncio.Event) -> None:
    """Consume into the projections until `stop`; start over in the new group whenever a rebuild bumps it."""
    if not runtime.settings.run_consumers:
        return
    while not stop.is_set():
        generation = await current_generation(runtime)
        group = group_id(SPEC.consumer, generation)
        log.info("projection consumer starting in group %s", group)
        moved = asyncio.Event()
        watcher = asyncio.create_task(_watch(runtime, generation, stop, moved))
        consumer = make_consumer(
            runtime.settings.kafka_bootstrap_servers,
            group_id=group,
            client_id=f"insights-projections-g{generation}",
            security=runtime.kafka_security,
        )
        runner = ConsumerRunner(
            SUBSCRIPTION,
            runtime.uow,
            dependencies={"clock": runtime.clock},
            max_attempts=runtime.settings.consumer_max_handler_attempts,
            after_commit=runtime.after_commit,
        )
        try:
            await consumer.start()
            await runner.run(consumer, moved)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await consumer.stop()


async def _watch(runtime: Runtime, generation: int, stop: asyncio.Event, moved: asyncio.Event) -> None:
    settings = runtime.settings
    interval = settings.generation_poll_s if isinstance(settings, InsightsSettings) else 1.0
    poked = asyncio.Event()
    async with _rebuild_notifications(settings.database_url, poked):
        while True:
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(poked.wait())]
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            poked.clear()
            if stop.is_set():
                moved.set()
                return
            try:
                if await current_generation(runtime) != generation:
                    log.info("projections were rebuilt: moving the consumer to the new group")
                    moved.set()
                    return
            except Exception:  # the database being away is waited out; the consumer notices on its own
                log.warning("could not read the projection generation", exc_info=True)


@contextlib.asynccontextmanager
async def _rebuild_notifications(database_url: str, poked: asyncio.Event) -> AsyncIterator[None]:
    """Set `poked` on every rebuild notification while the block runs; without a connection, polling alone."""
    connection: asyncpg.Connection | None = None
    try:
        connection = await asyncio.wait_for(asyncpg.connect(asyncpg_dsn(database_url)), timeout=10)
        await connection.add_listener(rebuild_channel("insights"), lambda *_: poked.set())
    except Exception:
        log.warning("cannot listen for rebuilds; checking the generation by polling only", exc_info=True)
    try:
        yield
    finally:
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=5)
