"""The sla-timers scheduler: two replicas on one database race for the same due timers and every
transition is still announced exactly once; with the system clock a due timer is announced promptly."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.sla.entrypoints.scheduler import fire_all_due
from shared.clock import FakeClock, SystemClock
from shared.events import topics
from tests.support.kafka import envelopes, read_all
from tests.support.sla import has, policy_for_brand, received, send, serving, sla_app, sla_client, sla_events

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("sla_from_now")]
TICKETS = 25


async def test_two_replicas_racing_for_due_timers_announce_each_transition_once(infra):
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    t0 = clock.now()
    first, second = sla_app(infra, clock=clock), sla_app(infra, clock=clock)
    async with serving(first) as http, serving(second):
        brand = await policy_for_brand(http, first_reply_s=600, warn_percent=50)
        tickets = [received(t0, brand) for _ in range(TICKETS)]
        await asyncio.gather(*(send(infra, t) for t in tickets))
        ids = {t.ticket_id for t in tickets}

        def count(kind: str, records: list) -> Counter[str]:
            return Counter(e.subject for e in envelopes(records) if e.subject in ids and e.type.endswith(kind))

        await read_all(infra.bootstrap_servers, topics.SLA, until=lambda rs: len(count("applied", rs)) == TICKETS)
        clock.advance(timedelta(minutes=11))
        # both replicas' schedulers wake on the same advance; two more passes race them once again
        runtimes = [first.state.runtime, second.state.runtime]
        await asyncio.gather(*(fire_all_due(r, 5) for r in runtimes for _ in range(2)))
        records = await read_all(
            infra.bootstrap_servers,
            topics.SLA,
            until=lambda rs: len(count("breached", rs)) == TICKETS and len(count("warning", rs)) == TICKETS,
            settle=3,
        )
        for kind in ("applied", "warning", "breached"):
            assert count(kind, records) == Counter(dict.fromkeys(ids, 1)), kind


async def test_with_the_system_clock_a_due_timer_is_announced_within_about_a_second(infra):
    async with sla_client(infra, clock=SystemClock()) as http:
        brand = await policy_for_brand(http, first_reply_s=2, warn_percent=None)
        warm_up = received(datetime.now(UTC), brand)
        await send(infra, warm_up)  # the consumer has joined its group once this is applied
        await sla_events(infra, warm_up.ticket_id, has("breached"))
        ticket = received(datetime.now(UTC), brand)
        await send(infra, ticket)
        events = await sla_events(infra, ticket.ticket_id, has("breached"))
        breach = next(e for e in events if e.type.endswith("breached"))
        due = datetime.fromisoformat(breach.data["breached_at"])
        assert due == ticket.received_at + timedelta(seconds=2)
        lateness = (breach.time - due).total_seconds()
        assert 0 <= lateness < 1.0, f"announced {lateness:.3f} s after its due instant"
