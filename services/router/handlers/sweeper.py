"""What time alone changes: offers expire, wait limits overflow or widen, workflow steps advance.

One pass per `ROUTER_SWEEP_INTERVAL_S`, in one transaction under the routing lock, so replicas
never act on the same ticket twice; the clock is the runtime's (a FakeClock in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import datetime

from services.router.adapters.repository import RoutingRepository
from services.router.domain import decide
from services.router.domain.assignment import overflow_action, requirements
from services.router.domain.model import Queue
from services.router.handlers.agents import expire_offers
from services.router.handlers.dispatch import dispatch, keep_record
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


async def sweep(uow: UnitOfWork, now: datetime) -> None:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    await expire_offers(uow, now)
    online = [a for a in await repo.all_agents() if a.status == "online"]
    for name in await repo.queues_with_waiting():
        queue = await repo.queue(name)
        if queue.workflow:
            await _raise_to_step_priority(uow, repo, queue, online, now)
        if not queue.wait_limit_s:
            continue
        for ticket in await repo.waiting_in(name):
            action = overflow_action(ticket, queue, now)
            if action == "move" and queue.overflow_queue:
                moved, event = decide.move(
                    ticket, queue.overflow_queue, f"waited {queue.wait_limit_s} s in {name}; overflow", now=now
                )
                await repo.save(moved)
                uow.publish(event)
                await keep_record(uow, repo, decide.record("overflow", moved, reason=event.reason, now=now))
            elif action == "widen":
                widened = replace(ticket, skills_widened=True)
                await repo.save(widened)
                await keep_record(
                    uow,
                    repo,
                    decide.record(
                        "overflow",
                        widened,
                        reason=f"waited {queue.wait_limit_s} s in {name}; skill requirement widened",
                        now=now,
                    ),
                )
    await dispatch(uow, now)


async def _raise_to_step_priority(
    uow: UnitOfWork, repo: RoutingRepository, queue: Queue, online: list, now: datetime
) -> None:
    """A workflow step may carry a priority: a ticket that reaches it is raised to at least that."""
    steps = {target.name: target for target in queue.workflow}
    for ticket in await repo.waiting_in(queue.name):
        step = steps.get(requirements(queue, ticket, now, online).step or "")
        if step is None or step.priority is None:
            continue
        raised = decide.higher(step.priority, ticket.priority)
        if raised != ticket.priority:
            await repo.save(replace(ticket, priority=raised))
            await keep_record(
                uow,
                repo,
                decide.record(
                    "route",
                    replace(ticket, priority=raised),
                    reason=f"workflow step {step.name}: priority {ticket.priority} -> {raised}",
                    now=now,
                ),
            )


async def ensure_default_queue(runtime: Runtime, stop: asyncio.Event) -> None:
    """The default queue exists from the start, so rules can name it and GET /v1/queues shows it."""
    name = getattr(runtime.settings, "default_queue", "triage")
    async with runtime.uow() as uow:
        repo = RoutingRepository(uow.session)
        if not await repo.queue_exists(name):
            await repo.put_queue(Queue(name=name), runtime.clock.now())
            await uow.commit()


async def run_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
    interval = getattr(runtime.settings, "sweep_interval_s", 1.0)
    while not stop.is_set():
        try:
            async with runtime.uow() as uow:
                await sweep(uow, runtime.clock.now())
                await uow.commit()
        except Exception:
            log.exception("routing sweep failed; next pass in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
