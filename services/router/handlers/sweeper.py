"""What time alone changes: offers expire, wait limits overflow or widen, workflow steps advance.

One pass per `SWEEP_INTERVAL_S` (the `sweep_interval_s` setting), in one transaction. One replica
sweeps at a time (a try-lock: another that finds it taken skips its pass). A pass reads only what
time can have changed: offers past their expiry, tickets past their queue's wait limit (an index on
the wait's start), and the waiting tickets of workflow queues (whose step depends on the wait and
on who is online); it locks only the tickets it changes, passing over any another transaction is
changing right now (the next pass has them). It dispatches what it changed and the workflow queues.
Every `SWEEP_BACKSTOP_S` a pass also dispatches everything waiting: the backstop for a wake-up lost
to a crash between a commit and its after-commit look (`wakeups`), so the cost of a pass follows
what is due, not how many tickets wait. When no ticket waits and no offer is out, one cheap read
stands in for the pass (an idle router), outside any transaction. The clock is the runtime's (a FakeClock in tests). What
changes is `domain.sweep`'s call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from services.router.adapters.repository import RoutingRepository, time_can_change_anything
from services.router.domain import sweep as time_passing
from services.router.domain.change import Change
from services.router.domain.model import Queue, RoutedTicket
from services.router.handlers.agents import expire_offers
from services.router.handlers.dispatch import dispatch, dispatch_ticket
from services.router.handlers.staging import stage
from shared.events.routing import QueueUpdated
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


async def sweep(uow: UnitOfWork, now: datetime, *, everything: bool = True) -> None:
    """One pass; `everything`: end with a dispatch of every waiting ticket (the backstop)."""
    repo = RoutingRepository(uow.session)
    if not await repo.try_lock_sweep():
        return  # another replica is sweeping right now; its pass covers this one
    await expire_offers(uow, now)
    online = await repo.online_agents()
    changed: list[RoutedTicket] = []
    workflows: list[str] = []
    for name in await repo.queues_with_waiting():
        queue = await repo.queue(name)
        if queue.workflow:
            workflows.append(name)
            step = functools.partial(time_passing.step_priority, queue=queue, online=online, now=now)
            for ticket in await repo.waiting_in(name):
                if step(ticket) is not None:
                    await _change(uow, repo, ticket, step)
        if not queue.wait_limit_s or not (queue.overflow_queue or queue.widen_skills_after_wait):
            continue
        overflow = functools.partial(time_passing.overflow, queue=queue, now=now)
        since = now - timedelta(seconds=queue.wait_limit_s)
        for ticket in await repo.waiting_since_before(name, since, widened=None if queue.overflow_queue else False):
            if overflow(ticket) is not None:
                changed.extend(await _change(uow, repo, ticket, overflow))
    if everything:
        await dispatch(uow, now)
        return
    if workflows:
        await dispatch(uow, now, workflows)
    for ticket in changed:
        await dispatch_ticket(uow, now, ticket)


async def _change(
    uow: UnitOfWork, repo: RoutingRepository, seen: RoutedTicket, change_of: Callable[[RoutedTicket], Change | None]
) -> list[RoutedTicket]:
    """Apply what time changed to a ticket as its locked row stands (the read that found it took no
    locks: locking every waiting ticket each pass would write to every one of them). One that
    another transaction is changing right now, or that stopped waiting, is left to the next pass.
    Returns the ticket as changed (none when nothing changed)."""
    ticket = await repo.get(seen.ticket_id, for_update=True, skip_locked=True)
    if ticket is None or ticket.status != "waiting":
        return []
    change = change_of(ticket)
    if change is None:
        return []
    await stage(uow, repo, change)
    return [change.ticket]


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
    backstop = getattr(runtime.settings, "sweep_backstop_s", 10.0)
    last_backstop = float("-inf")
    while not stop.is_set():
        try:
            # one cheap read when nothing waits and no offer is out (an idle router): no lock, no pass
            if await time_can_change_anything(runtime.engine):
                everything = time.monotonic() - last_backstop >= backstop
                async with runtime.uow() as uow:
                    await sweep(uow, runtime.clock.now(), everything=everything)
                    await uow.commit()
                if everything:
                    last_backstop = time.monotonic()
        except Exception:
            log.exception("routing sweep failed; next pass in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
