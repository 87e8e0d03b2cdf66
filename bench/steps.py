"""The floor under load: steps of offered rate, the search for the highest sustained one, router
replicas, and a backlog drained when the agents come online. Each returns plain dicts for the report."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import stats
from bench.agents import Floor
from bench.clients import HttpPool
from bench.floor import Customers
from bench.load import Generator, Sent, Step
from bench.procs import Meter


@dataclass(frozen=True)
class StepOptions:
    duration_s: float
    grace_s: float = 2.0
    drain_timeout_s: float = 60.0


def _ticket(floor: Floor, sent: Sent) -> str | None:
    if sent.ticket_id is None and sent.token is not None:
        sent.ticket_id = floor.seen.mail_tickets.get(sent.token)
    return sent.ticket_id


def _waiting(floor: Floor, step: Step) -> int:
    """Accepted tickets of the step that nobody has yet (a mail whose ticket is not known yet counts)."""
    assigned = floor.seen.assigned
    return sum(1 for s in step.sent if s.accepted is not None and _ticket(floor, s) not in assigned)


async def _drain(floor: Floor, step: Step, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while (left := _waiting(floor, step)) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return left


def steady_rate(assigned: dict[str, float], ids: list[str | None], start: float, end: float) -> float:
    """The step's tickets assigned per second over its second half (the first half ramps up from empty)."""
    middle = (start + end) / 2
    count = sum(1 for i in ids if i in assigned and middle <= assigned[i] <= end)
    return count / (end - middle) if end > middle else 0.0


def latencies(floor: Floor, step: Step) -> dict[str, list[float]]:
    """Seconds from each accepted ticket's 202/250 to its ticket.received on Kafka (ingest's relay), to
    its routed and to its assigned record; and to assigned by way in (webhook, SMTP)."""
    seen = floor.seen
    out: dict[str, list[float]] = {"to_kafka": [], "to_routed": [], "to_assigned": [], "webhook": [], "smtp": []}
    for sent in step.accepted:
        ticket_id = _ticket(floor, sent)
        assert sent.accepted is not None
        if ticket_id is None:
            continue
        for key, instants in (("to_kafka", seen.received), ("to_routed", seen.routed), ("to_assigned", seen.assigned)):
            if ticket_id in instants:
                out[key].append(instants[ticket_id] - sent.accepted)
        if ticket_id in seen.assigned:
            out["smtp" if sent.token else "webhook"].append(seen.assigned[ticket_id] - sent.accepted)
    return out


async def load_step(
    floor: Floor, generator: Generator, meter: Meter, rate: float, options: StepOptions, keep: list[Step] | None = None
) -> dict[str, Any]:
    """Offer `rate` tickets/s for the step's duration, starting on a quiet floor (the agents hold nothing
    and the services have applied every solve of the step before); what came of it. The step is
    appended to `keep`."""
    await floor.wait_idle(options.drain_timeout_s)
    quiet = await floor.wait_quiet(2.0, options.drain_timeout_s)
    step = Step(rate=rate, duration_s=options.duration_s)
    if keep is not None:
        keep.append(step)
    meter.start()
    await generator.run(step, backlog=lambda: _waiting(floor, step))
    end = step.started + step.duration_s
    usage = meter.read()
    load = os.getloadavg()
    await asyncio.sleep(options.grace_s)
    accepted = step.accepted
    ids = [_ticket(floor, s) for s in accepted]
    at = floor.seen.assigned
    counts = stats.StepCounts(
        offered_rate=rate,
        duration_s=options.duration_s,
        accepted=len(accepted),
        failed=step.failed,
        assigned_in_step=sum(1 for i in ids if i in at and at[i] <= end),
        assigned_after_grace=sum(1 for i in ids if i in at),
        backlog=tuple(step.backlog),
        send_lag_p99_s=stats.percentile([s.sent - s.due for s in step.sent], 0.99) if step.sent else 0.0,
    )
    ok, reason = stats.sustained(counts, grace_s=options.grace_s)
    left = await _drain(floor, step, options.drain_timeout_s)
    spans = latencies(floor, step)
    return {
        "offered_rate": rate,
        "duration_s": options.duration_s,
        "started_quiet": quiet,
        "accepted": counts.accepted,
        "failed": counts.failed,
        "smtp": sum(1 for s in step.sent if s.token is not None),
        "assigned_rate": round(steady_rate(at, ids, step.started, end), 1),
        "sustained": ok,
        "reason": reason,
        "send_lag_p99_s": counts.send_lag_p99_s,
        "backlog_samples": list(step.backlog),
        "unassigned_after_drain": left,
        "to_kafka": stats.Latency.of(spans["to_kafka"]).as_dict(),
        "to_routed": stats.Latency.of(spans["to_routed"]).as_dict(),
        "to_assigned": stats.Latency.of(spans["to_assigned"]).as_dict(),
        "to_assigned_webhook": stats.Latency.of(spans["webhook"]).as_dict(),
        "to_assigned_smtp": stats.Latency.of(spans["smtp"]).as_dict(),
        "load_average": load,  # of the whole machine: other work on the cores shows here
        "processes": {name: {"cpu_pct": u.cpu_pct, "rss_mb": u.rss_mb} for name, u in usage.items()},
    }


async def search(
    floor: Floor,
    generator: Generator,
    meter: Meter,
    options: StepOptions,
    *,
    fixed: tuple[int, ...] = (100, 500),
    max_steps: int = 8,
    latency_steps: int = 4,
    say: Callable[[str], None] = print,
    keep: list[Step] | None = None,
) -> list[dict[str, Any]]:
    """The fixed rates first, then the search for the highest sustained one (stats.next_rate), then
    `latency_steps` more in the search for the highest one held with p99 to assigned within the
    target (the same search, on `stats.within_target`): where the highest sustained rate already
    queues for seconds, the answer lies well below it, and without these steps it stays unknown."""
    results: list[dict[str, Any]] = []
    tried: dict[float, bool] = {}
    within: dict[float, bool] = {}

    async def one(rate: float) -> bool:
        """Run a step; False when its tickets did not drain (later steps would only measure that backlog)."""
        result = await load_step(floor, generator, meter, rate, options, keep)
        tried[rate] = result["sustained"]
        within[rate] = stats.within_target(result["sustained"], result["to_assigned"]["p99_ms"])
        results.append(result)
        say(
            f"  {rate:>6.0f}/s offered: {result['assigned_rate']:>6.1f}/s assigned, "
            f"p99 to assigned {result['to_assigned']['p99_ms']} ms, {result['reason']}"
        )
        if result["unassigned_after_drain"]:
            say(f"  {result['unassigned_after_drain']} of its tickets still unassigned after the drain: no more steps")
            return False
        return True

    for fixed_rate in fixed:
        if not await one(fixed_rate):
            return results
    while len(results) < max_steps:
        rate = stats.next_rate(tried, start=max(fixed))
        if rate is None or rate in tried:
            break
        if not await one(rate):
            return results
    for _ in range(latency_steps):
        rate = stats.next_rate(within, start=min(fixed))
        if rate is None or rate in within or not await one(rate):
            break
    return results


async def settle(floor: Floor, done: list[Step], timeout_s: float) -> int:
    """Wait until every ticket the steps got accepted has had an agent and the agents hold nothing,
    so what comes next does not measure the steps' leftovers; how many were still waiting."""
    deadline = time.monotonic() + timeout_s
    while (left := sum(_waiting(floor, s) for s in done)) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await floor.wait_idle(max(deadline - time.monotonic(), 1.0))
    return left


async def router_bound(floor: Floor, customers: Customers, count: int, timeout_s: float) -> dict[str, Any]:
    """`count` TicketReceived events straight onto Kafka at once: assigned per second, first sent to last assigned."""
    await floor.wait_idle(timeout_s)
    quiet = await floor.wait_quiet(3.0, timeout_s)
    events = [customers.received() for _ in range(count)]
    ids = [e.ticket_id for e in events]
    started = await floor.publish_received(events)
    done = await floor.wait_assigned(ids, timeout_s)
    last = max((floor.seen.assigned[i] for i in ids if i in floor.seen.assigned), default=started)
    elapsed = max(last - started, 1e-9)
    rate = round(done / elapsed, 1)
    return {"tickets": count, "assigned": done, "seconds": round(elapsed, 2), "rate": rate, "started_quiet": quiet}


async def set_statuses(router: HttpPool, admin_key: str, agent_ids: list[str], status: str) -> float:
    """Every agent's status through the router's REST API, 8 at a time, as their tools would; seconds taken."""
    headers = {"authorization": f"Bearer {admin_key}", "content-type": "application/json"}
    body = json.dumps({"status": status}).encode()
    gate = asyncio.Semaphore(8)

    async def one(agent_id: str) -> None:
        async with gate:
            code, text = await router.request("PUT", f"/v1/agents/{agent_id}/status", body, headers)
            if code != 200:
                raise RuntimeError(f"status of {agent_id}: {code} {text[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(one(a) for a in agent_ids))
    return time.perf_counter() - started


async def drain(
    floor: Floor, customers: Customers, router: HttpPool, admin_key: str, agent_ids: list[str], backlog: int
) -> dict[str, Any]:
    """Everyone offline, `backlog` tickets straight onto Kafka and routed (waiting), then everyone online:
    seconds from the first status change to the last of them assigned."""
    await set_statuses(router, admin_key, agent_ids, "offline")
    await floor.wait_idle(timeout_s=120)
    events = [customers.received() for _ in range(backlog)]
    ids = [e.ticket_id for e in events]
    route_started = await floor.publish_received(events)
    routed = await floor.wait_routed(ids, timeout_s=max(600.0, backlog / 10))
    route_s = max((floor.seen.routed[i] for i in ids if i in floor.seen.routed), default=route_started) - route_started
    started = time.time()
    online_s = await set_statuses(router, admin_key, agent_ids, "online")
    done = await floor.wait_assigned(ids, timeout_s=max(600.0, backlog / 10))
    last = max((floor.seen.assigned[i] for i in ids if i in floor.seen.assigned), default=started)
    return {
        "backlog": backlog,
        "routed": routed,
        "routing_s": round(route_s, 2),
        "agents": len(agent_ids),
        "status_changes_s": round(online_s, 2),
        "assigned": done,
        "drain_s": round(last - started, 2),
    }
