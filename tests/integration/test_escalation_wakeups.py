"""How escalation's delivery worker waits: on the runtime's clock (a FakeClock moves only when the test
advances it) and on NOTIFY, heard again after its listening connection is killed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FakeClock
from tests.support.db import fetch, fetchval
from tests.support.escalation import deliveries, enqueue, escalation_app, settled
from tests.support.kafka import eventually
from tests.support.receivers import http_receiver

pytestmark = pytest.mark.integration
LISTENING = "select pid from pg_stat_activity where application_name = 'escalation-deliveries'"


def kind() -> str:
    return f"switchboard.test.{uuid.uuid4().hex[:10]}"


async def test_a_retry_waits_for_the_fake_clock_and_advancing_it_sends_at_once(infra):
    clock = FakeClock(datetime.now(UTC))
    event_type = kind()
    slow = dict(
        delivery_backoff_base_s=600.0,
        delivery_backoff_cap_s=600.0,
        delivery_max_age_s=86400.0,
        delivery_idle_wake_s=3600.0,
    )
    async with escalation_app(infra, clock=clock, **slow) as esc, http_receiver(statuses=[500]) as receiver:
        await enqueue(
            esc.runtime, channel="webhook", target=receiver.url, event_type=event_type, idempotency_key=event_type
        )
        (delivery,) = await eventually(lambda: deliveries(esc.http, event_type=event_type))

        async def first_attempt_failed() -> bool:
            shown = (await esc.http.get(f"/v1/deliveries/{delivery['id']}")).json()
            return shown["state"] == "pending" and shown["attempts"] == 1

        await eventually(first_attempt_failed)
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 1  # the retry is due in clock time, which has not passed
        clock.advance(timedelta(seconds=601))
        done = await settled(esc.http, delivery["id"], "delivered", timeout=10)
        assert done["attempts"] == 2 and [a["status"] for a in done["attempt_log"]] == [500, 200]


async def test_the_worker_hears_notifications_again_after_its_listening_connection_is_killed(infra):
    event_type = kind()
    # no safety-net wake-ups within the test: only a NOTIFY (or the reconnect) gets the worker going
    async with escalation_app(infra, delivery_idle_wake_s=3600.0) as esc, http_receiver() as receiver:
        [before] = [row["pid"] for row in await fetch(infra, LISTENING)]
        assert await fetchval(infra, "select pg_terminate_backend($1)", before)

        async def listening_again() -> list[int]:
            return [row["pid"] for row in await fetch(infra, LISTENING) if row["pid"] != before]

        await eventually(listening_again, timeout=10)
        await asyncio.sleep(0.5)  # the reconnect's own wake-up has come and gone: the worker sleeps again
        await enqueue(
            esc.runtime, channel="webhook", target=receiver.url, event_type=event_type, idempotency_key=event_type
        )
        (delivery,) = await eventually(lambda: deliveries(esc.http, event_type=event_type))
        await settled(esc.http, delivery["id"], "delivered", timeout=10)
