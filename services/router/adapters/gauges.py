"""The router's Prometheus gauges: queue depth and oldest wait, agents by status, free capacity per channel.

Registered in the process's default registry (served by `/metrics` with the shared metrics) and
refreshed by the `router-gauges` worker every `gauges_interval_s`: a scrape never touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter as Tally
from collections.abc import Mapping

from prometheus_client import Gauge

from services.router.adapters.repository import RoutingRepository
from services.router.domain.overview import free_capacity, health
from shared.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE_WAITING = Gauge("switchboard_router_queue_waiting", "Tickets waiting in the queue", ["queue"])
QUEUE_OLDEST_WAIT = Gauge(
    "switchboard_router_queue_oldest_wait_seconds", "How long the longest-waiting ticket has waited", ["queue"]
)
AGENTS = Gauge("switchboard_router_agents", "Agents by status", ["status"])
FREE_CAPACITY = Gauge(
    "switchboard_router_free_capacity",
    "Tickets the online agents could still take now, per channel (channel room bounded by room in total)",
    ["channel"],
)


def _set(gauge: Gauge, values: Mapping[str, float]) -> None:
    gauge.clear()  # a queue or channel that went away stops being reported
    for label, value in values.items():
        gauge.labels(label).set(value)


async def refresh(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        repo = RoutingRepository(uow.session)
        now = runtime.clock.now()
        names = await repo.queue_names()
        waiting = await repo.waiting_summaries()
        agents = await repo.all_agents()
        loads = await repo.loads()
    queues = {name: health(waiting[name], now) if name in waiting else None for name in {*names, *waiting}}
    _set(QUEUE_WAITING, {n: h.waiting if h else 0 for n, h in queues.items()})
    _set(QUEUE_OLDEST_WAIT, {n: h.oldest_wait_seconds if h else 0.0 for n, h in queues.items()})
    statuses = Tally(a.status for a in agents)
    _set(AGENTS, {s: statuses.get(s, 0) for s in ("online", "away", "offline")})
    _set(FREE_CAPACITY, free_capacity(agents, loads))


async def run_gauges(runtime: Runtime, stop: asyncio.Event) -> None:
    interval = getattr(runtime.settings, "gauges_interval_s", 5.0)
    while not stop.is_set():
        try:
            await refresh(runtime)
        except Exception:
            log.exception("router gauges not refreshed; next try in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
