"""What time alone changes: offers expire, wait limits overflow or widen, workflow steps advance.

One pass per `SWEEP_INTERVAL_S` (the `sweep_interval_s` setting), in one transaction under the
routing lock, so replicas never act on the same ticket twice; when no ticket waits and no offer is
out, one cheap read stands in for the pass. The clock is the runtime's (a FakeClock in tests).
What changes is `domain.sweep`'s call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from services.router.adapters.repository import RoutingRepository, time_can_change_anything
from services.router.domain import sweep as time_passing
from services.router.domain.model import Queue
from services.router.handlers.agents import expire_offers
from services.router.handlers.dispatch import dispatch
from services.router.handlers.staging import stage
from shared.events.routing import QueueUpdated
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


async def sweep(uow: UnitOfWork, now: datetime) -> None:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    await expire_offers(uow, now)
    online = await repo.online_agents()
    for name in await repo.queues_with_waiting():
        queue = await repo.queue(name)
        if queue.workflow:
            for ticket in await repo.waiting_in(name):
                raised = time_passing.step_priority(ticket, queue, online, now)
                if raised is not None:
                    await stage(uow, repo, raised)
        if not queue.wait_limit_s:
            continue
        for ticket in await repo.waiting_in(name):
            overflowed = time_passing.overflow(ticket, queue, now)
            if overflowed is not None:
                await stage(uow, repo, overflowed)
    await dispatch(uow, now)


async def ensure_default_queue(runtime: Runtime, stop: asyncio.Event) -> None:
    """The default queue exists from the start, so rules can name it and GET /v1/queues shows it.

    Every queue is announced (`queue.updated` with its stored `updated_at`) at start too, so a
    service that learns queues from the routing topic also knows those older than the event."""
    name = getattr(runtime.settings, "default_queue", "triage")
    async with runtime.uow() as uow:
        repo = RoutingRepository(uow.session)
        if not await repo.queue_exists(name):
            await repo.put_queue(Queue(name=name), runtime.clock.now())
        for queue, updated_at in await repo.queue_versions():
            uow.publish(QueueUpdated(queue=queue, updated_at=updated_at))
        await uow.commit()


async def run_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
    interval = getattr(runtime.settings, "sweep_interval_s", 1.0)
    while not stop.is_set():
        try:
            # one cheap read when nothing waits and no offer is out (an idle router): no lock, no pass
            if await time_can_change_anything(runtime.engine):
                async with runtime.uow() as uow:
                    await sweep(uow, runtime.clock.now())
                    await uow.commit()
        except Exception:
            log.exception("routing sweep failed; next pass in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
