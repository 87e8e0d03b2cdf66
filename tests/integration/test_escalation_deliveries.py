"""Outbound deliveries on the real stack: Kafka events fanned out to webhook subscriptions, signed,
retried, failed, replayed, sent concurrently, mailed, and picked up again after a crash."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from services.escalation.entrypoints.api import WEBHOOK_FAN_OUT
from shared.auth import generate_secret, hash_key
from shared.events import topics
from shared.events.access import ApiKeyIssued
from tests.support.db import fetch
from tests.support.escalation import deliveries, enqueue, escalation_app, settled, subscribe
from tests.support.events import envelope_of, ticket_received
from tests.support.kafka import eventually, produce
from tests.support.receivers import dead_url, http_receiver, smtp_server

pytestmark = pytest.mark.integration
SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def kind() -> str:
    """An event type of this test's own, so its deliveries are found by filter."""
    return f"switchboard.test.{uuid.uuid4().hex[:10]}"


async def only_delivery(http, event_type: str) -> dict:
    (delivery,) = await deliveries(http, event_type=event_type)
    return delivery


async def test_an_event_on_kafka_reaches_its_subscriber_signed_and_not_the_others(infra):
    async with escalation_app(infra) as esc, http_receiver() as receiver, http_receiver() as other:
        subscription = await subscribe(esc.http, receiver.url, "switchboard.ticket.received")
        await subscribe(esc.http, other.url, "switchboard.sla.breached")
        envelope = envelope_of(ticket_received())
        await produce(infra.bootstrap_servers, topics.TICKETS, envelope.to_bytes(), key=envelope.subject)

        (request,) = await receiver.carrying(envelope.id)
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        verified = Webhook(subscription["secret"]).verify(request.body, request.headers)
        assert verified == envelope.model_dump(mode="json")  # the whole CloudEvents envelope
        webhook_id = request.headers["webhook-id"]

        async def marked_delivered() -> list[dict]:
            # the receiver answers before the worker commits "delivered"; older ticket events still in
            # the consumer group's backlog may reach the new subscription too
            delivered = await deliveries(esc.http, subscription_id=subscription["id"], state="delivered")
            return [d for d in delivered if d["webhook_id"] == webhook_id]

        (delivery,) = await eventually(marked_delivered, timeout=10)
        assert delivery["webhook_id"].startswith("msg_")
        await asyncio.sleep(1.0)
        assert not [r for r in other.requests if envelope.id.encode() in r.body]  # filtered out by type


async def test_access_events_are_never_fanned_out_even_to_a_subscription_to_every_type(infra):
    assert topics.ACCESS not in WEBHOOK_FAN_OUT.topics and topics.DEAD_LETTERS not in WEBHOOK_FAN_OUT.topics
    assert not [t for t in WEBHOOK_FAN_OUT.handlers if t.TOPIC in (topics.ACCESS, topics.DEAD_LETTERS)]
    async with escalation_app(infra) as esc, http_receiver() as receiver:
        await subscribe(esc.http, receiver.url)  # no types: every type
        key = ApiKeyIssued(
            key_id=str(uuid.uuid4()), key_hash=hash_key(generate_secret("agent")), role="agent", name="a",
            issued_at=datetime.now(UTC),
        )  # fmt: skip
        issued = envelope_of(key)
        await produce(infra.bootstrap_servers, topics.ACCESS, issued.to_bytes(), key=key.key_id)
        later = envelope_of(ticket_received())
        await produce(infra.bootstrap_servers, topics.TICKETS, later.to_bytes(), key=later.subject)

        await receiver.carrying(later.id)
        await asyncio.sleep(1.0)
        assert not [r for r in receiver.requests if key.key_hash.encode() in r.body or issued.id.encode() in r.body]


async def test_a_subscriber_answering_500_twice_gets_the_third_attempt_with_the_same_id(infra):
    event_type = kind()
    async with escalation_app(infra) as esc, http_receiver(statuses=[500, 500]) as receiver:
        assert await enqueue(
            esc.runtime, channel="webhook", target=receiver.url, secret=SECRET, event_type=event_type,
            payload={"n": 1}, idempotency_key=event_type,
        )  # fmt: skip
        delivery = await settled(esc.http, (await only_delivery(esc.http, event_type))["id"], "delivered")
        assert delivery["attempts"] == 3
        assert [a["status"] for a in delivery["attempt_log"]] == [500, 500, 200]
        assert [a["attempt"] for a in delivery["attempt_log"]] == [1, 2, 3]
        assert all(a["latency_ms"] >= 0 for a in delivery["attempt_log"])
        assert delivery["attempt_log"][0]["error"] == "HTTP 500"
        assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["webhook_id"]}
        for request in receiver.requests:
            assert Webhook(SECRET).verify(request.body, request.headers) == {"n": 1}
        metrics = (await esc.http.get("/metrics")).text
        assert 'switchboard_escalation_deliveries_total{channel="webhook",outcome="retrying"}' in metrics
        assert 'switchboard_escalation_deliveries_total{channel="webhook",outcome="delivered"}' in metrics
        assert 'switchboard_escalation_delivery_attempt_seconds_count{channel="webhook"}' in metrics


async def test_a_dead_subscriber_fails_after_the_last_attempt(infra):
    event_type = kind()
    async with escalation_app(infra, delivery_max_attempts=3) as esc:
        await enqueue(
            esc.runtime, channel="webhook", target=dead_url(), secret=SECRET, event_type=event_type,
            payload={}, idempotency_key=event_type,
        )  # fmt: skip
        delivery = await settled(esc.http, (await only_delivery(esc.http, event_type))["id"], "failed")
        assert delivery["attempts"] == 3 and len(delivery["attempt_log"]) == 3
        assert all(a["status"] is None and a["error"] for a in delivery["attempt_log"])
        assert delivery["last_error"] == "ConnectError: All connection attempts failed"


async def test_a_failed_delivery_is_replayed_with_the_same_webhook_id(infra):
    event_type = kind()
    async with escalation_app(infra, delivery_max_attempts=2) as esc, http_receiver(default_status=503) as receiver:
        await enqueue(
            esc.runtime, channel="webhook", target=receiver.url, secret=SECRET, event_type=event_type,
            payload={"x": 1}, idempotency_key=event_type,
        )  # fmt: skip
        delivery_id = (await only_delivery(esc.http, event_type))["id"]
        failed = await settled(esc.http, delivery_id, "failed")
        assert failed["attempts"] == 2 and failed["last_status"] == 503

        receiver.default_status = 204
        replayed = await esc.http.post(f"/v1/deliveries/{delivery_id}/replay")
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["state"] == "pending" and replayed.json()["attempts"] == 0
        delivered = await settled(esc.http, delivery_id, "delivered")
        assert delivered["attempts"] == 1 and delivered["last_status"] == 204
        assert len(delivered["attempt_log"]) == 3  # the history stays
        assert {r.headers["webhook-id"] for r in receiver.requests} == {failed["webhook_id"]}

        again = await esc.http.post(f"/v1/deliveries/{delivery_id}/replay")  # a delivered one may be sent again
        assert again.status_code == 202
        await receiver.received(4)


async def test_a_delivery_under_way_cannot_be_replayed(infra):
    event_type = kind()
    async with escalation_app(infra) as esc, http_receiver(delay_s=30) as receiver:
        await enqueue(
            esc.runtime, channel="webhook", target=receiver.url, secret=None, event_type=event_type,
            payload={}, idempotency_key=event_type,
        )  # fmt: skip
        await receiver.received(1)
        delivery = await only_delivery(esc.http, event_type)
        assert delivery["state"] == "delivering"
        response = await esc.http.post(f"/v1/deliveries/{delivery['id']}/replay")
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert "delivering" in response.json()["detail"]


async def test_a_hanging_subscriber_does_not_delay_another(infra):
    slow_type, fast_type = kind(), kind()
    async with (
        escalation_app(infra, delivery_per_host_concurrency=2, delivery_timeout_s=20) as esc,
        http_receiver(delay_s=30) as slow,
        http_receiver() as fast,
    ):
        for n in range(6):
            await enqueue(
                esc.runtime, channel="webhook", target=slow.url, secret=SECRET, event_type=slow_type,
                payload={"n": n}, idempotency_key=f"{slow_type}:{n}",
            )  # fmt: skip
        await slow.received(2)  # both of its slots are held by requests that hang
        started = time.monotonic()
        await enqueue(
            esc.runtime, channel="webhook", target=fast.url, secret=SECRET, event_type=fast_type,
            payload={"fast": True}, idempotency_key=fast_type,
        )  # fmt: skip
        (request,) = await fast.received(1, timeout=5)
        assert request.at - started < 1.0, f"the fast subscriber waited {request.at - started:.2f} s"
        await asyncio.sleep(0.5)
        assert len(slow.requests) == 2  # never more than its limit at once


async def test_one_idempotency_key_makes_one_delivery(infra):
    event_type = kind()
    async with escalation_app(infra) as esc, http_receiver() as receiver:
        fields: dict[str, Any] = dict(
            channel="webhook", target=receiver.url, secret=SECRET, event_type=event_type, payload={"n": 1},
            idempotency_key=f"policy:7:{event_type}",
        )  # fmt: skip
        assert await enqueue(esc.runtime, **fields) is True
        assert await enqueue(esc.runtime, **fields) is False
        await settled(esc.http, (await only_delivery(esc.http, event_type))["id"], "delivered")
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == 1


async def test_a_slack_delivery_posts_one_readable_line_unsigned(infra):
    event_type = "switchboard.sla.breached"
    key = kind()
    async with escalation_app(infra) as esc, http_receiver() as receiver:
        payload = {"ticket_id": key, "reference": "SB-77", "priority": "urgent"}
        await enqueue(
            esc.runtime, channel="slack", target=receiver.url, secret=None, event_type=event_type,
            payload=payload, idempotency_key=key,
        )  # fmt: skip
        (request,) = await receiver.carrying("SB-77")
        assert json.loads(request.body) == {"text": "switchboard.sla.breached for ticket SB-77 (priority urgent)"}
        assert "webhook-signature" not in request.headers


async def test_an_email_delivery_reaches_the_smtp_relay_with_a_stable_message_id(infra):
    event_type = kind()
    with smtp_server() as (controller, sink):
        async with escalation_app(infra, smtp_relay_host="127.0.0.1", smtp_relay_port=controller.port) as esc:
            payload = {"ticket_id": "t-1", "reference": "SB-9", "subject": "Charged twice", "level": 2}
            await enqueue(
                esc.runtime, channel="email", target="oncall@example.com", secret=None, event_type=event_type,
                payload=payload, idempotency_key=event_type,
            )  # fmt: skip
            delivery = await settled(esc.http, (await only_delivery(esc.http, event_type))["id"], "delivered")
    ((recipients, mail),) = [m for m in sink.mails if event_type in str(m[1]["Subject"])]
    assert recipients == ["oncall@example.com"]
    assert mail["Message-ID"] == f"<{delivery['id']}@switchboard.local>"
    assert mail["Subject"] == f'[Switchboard] {event_type} for ticket SB-9: "Charged twice" (level 2)'
    assert mail["X-Switchboard-Loop"] == "escalation"
    body = mail.get_content()
    assert "reference: SB-9" in body and "subject: Charged twice" in body
    assert delivery["attempt_log"][0]["status"] == 250


async def test_a_delivery_left_delivering_by_a_killed_worker_is_sent_again_with_its_webhook_id(infra):
    event_type = kind()
    webhook_id = f"msg_{uuid.uuid4().hex}"
    async with http_receiver() as receiver:
        # what a worker killed mid-send leaves: a claimed row (attempt 1 counted) whose lease has run out
        await fetch(
            infra,
            """INSERT INTO escalation.deliveries (id, idempotency_key, webhook_id, channel, target, target_host,
                   secret, event_type, payload, state, attempts, next_attempt_at, created_at, queued_at)
               VALUES ($1, $1, $2, 'webhook', $3, $4, $5, $6, '{"n": 1}', 'delivering', 1,
                   now() - interval '1 second', now() - interval '3 minutes', now() - interval '3 minutes')""",
            str(uuid.uuid4()), webhook_id, receiver.url, f"127.0.0.1:{receiver.port}", SECRET, event_type,
        )  # fmt: skip
        # and one still inside its lease: its worker may yet be sending it
        await fetch(
            infra,
            """INSERT INTO escalation.deliveries (id, idempotency_key, webhook_id, channel, target, target_host,
                   event_type, payload, state, attempts, next_attempt_at, created_at, queued_at)
               VALUES ($1, $1, 'msg_leased', 'webhook', $2, $3, $4, '{"n": 2}', 'delivering', 1,
                   now() + interval '1 hour', now(), now())""",
            str(uuid.uuid4()), receiver.url, f"127.0.0.1:{receiver.port}", event_type,
        )  # fmt: skip
        async with escalation_app(infra) as esc:
            (request,) = await receiver.received(1)
            assert request.headers["webhook-id"] == webhook_id
            assert Webhook(SECRET).verify(request.body, request.headers) == {"n": 1}

            async def marked() -> list[dict[str, Any]]:  # the receiver answers before the worker records it
                return await deliveries(esc.http, event_type=event_type, state="delivered")

            (delivered,) = await eventually(marked, timeout=10)
            assert delivered["attempts"] == 2
            await asyncio.sleep(1.0)
            assert len(receiver.requests) == 1
