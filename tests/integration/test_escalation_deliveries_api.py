"""The REST side of deliveries: webhook subscriptions (admin) and the delivery log (manager reads, admin replays)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.auth import generate_secret, hash_key
from shared.events import topics
from shared.events.access import ApiKeyIssued
from tests.support.escalation import enqueue, escalation_app
from tests.support.events import envelope_of
from tests.support.kafka import eventually, produce
from tests.support.receivers import dead_url

pytestmark = pytest.mark.integration
PUBLIC_URL = "https://93.184.216.34/hooks/switchboard"  # a public address literal: no DNS needed


def fields_of(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


async def test_subscriptions_are_created_read_changed_and_deleted(infra):
    async with escalation_app(infra) as esc:
        http = esc.http
        created = await http.post(
            "/v1/subscriptions",
            json={"url": PUBLIC_URL, "event_types": ["switchboard.sla.breached"], "description": "pager bridge"},
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("whsec_") and body["active"] is True
        assert body["id"].startswith("sub_")
        subscription_id = body["id"]

        read = (await http.get(f"/v1/subscriptions/{subscription_id}")).json()
        assert "secret" not in read and read["event_types"] == ["switchboard.sla.breached"]
        listed = (await http.get("/v1/subscriptions")).json()
        assert [s["id"] for s in listed if s["id"] == subscription_id] == [subscription_id]
        assert all("secret" not in s for s in listed)

        patched = await http.patch(
            f"/v1/subscriptions/{subscription_id}",
            json={"active": False, "event_types": [], "secret": "whsec_" + "A" * 40},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["active"] is False and patched.json()["event_types"] == []
        assert "secret" not in patched.json()
        assert patched.json()["description"] == "pager bridge"

        assert (await http.delete(f"/v1/subscriptions/{subscription_id}")).status_code == 204
        for response in (
            await http.get(f"/v1/subscriptions/{subscription_id}"),
            await http.delete(f"/v1/subscriptions/{subscription_id}"),
            await http.patch(f"/v1/subscriptions/{subscription_id}", json={"active": True}),
        ):
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"


async def test_a_given_secret_is_kept_and_returned_once(infra):
    secret = "whsec_" + "B" * 44
    async with escalation_app(infra) as esc:
        created = await esc.http.post("/v1/subscriptions", json={"url": PUBLIC_URL, "secret": secret})
        assert created.status_code == 201 and created.json()["secret"] == secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC_URL, "event_types": ["switchboard.ticket.received", "switchboard.nope"]}, "event_types.1"),
        ({"url": PUBLIC_URL, "event_types": ["switchboard.access.api_key_issued"]}, "event_types.0"),
        (
            {"url": PUBLIC_URL, "event_types": ["switchboard.sla.breached", "switchboard.access.api_key_revoked"]},
            "event_types.1",
        ),
        ({"url": PUBLIC_URL, "event_types": ["switchboard.message.dead_lettered"]}, "event_types.0"),
        ({"url": "ftp://93.184.216.34/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http:///nohost"}, "url"),
        ({"url": PUBLIC_URL, "secret": "hunter2"}, "secret"),
        ({"url": PUBLIC_URL, "colour": "red"}, "colour"),
        ({}, "url"),
    ],
)
async def test_an_invalid_subscription_is_a_422_naming_the_field(infra, body, field):
    async with escalation_app(infra) as esc:
        assert field in fields_of(await esc.http.post("/v1/subscriptions", json=body))


async def test_access_types_are_refused_with_the_reason(infra):
    async with escalation_app(infra) as esc:
        created = await esc.http.post("/v1/subscriptions", json={"url": PUBLIC_URL})
        for response in (
            await esc.http.post(
                "/v1/subscriptions", json={"url": PUBLIC_URL, "event_types": ["switchboard.access.api_key_issued"]}
            ),
            await esc.http.patch(
                f"/v1/subscriptions/{created.json()['id']}",
                json={"event_types": ["switchboard.access.api_key_revoked"]},
            ),
        ):
            assert fields_of(response) == ["event_types.0"]
            assert "never sent to webhooks" in response.text and "API key hashes" in response.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.5.4/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
async def test_internal_addresses_are_refused_unless_allowed(infra, url):
    async with escalation_app(infra, allow_private_targets=False) as esc:
        response = await esc.http.post("/v1/subscriptions", json={"url": url})
        assert fields_of(response) == ["url"]
        assert "public addresses only" in response.json()["detail"]
        created = await esc.http.post("/v1/subscriptions", json={"url": PUBLIC_URL})
        assert created.status_code == 201
        patched = await esc.http.patch(f"/v1/subscriptions/{created.json()['id']}", json={"url": url})
        assert fields_of(patched) == ["url"]


async def test_deliveries_are_listed_newest_first_a_page_at_a_time(infra):
    event_type = f"switchboard.test.{uuid.uuid4().hex[:10]}"
    # a far-future `now` keeps the worker from touching them during the test
    async with escalation_app(infra, delivery_max_attempts=1) as esc:
        for n in range(3):
            await enqueue(
                esc.runtime, channel="webhook", target=dead_url(), secret=None, event_type=event_type,
                payload={"n": n}, idempotency_key=f"{event_type}:{n}",
                now=datetime(2100, 1, 1, 0, 0, n, tzinfo=UTC),
            )  # fmt: skip
        first = (await esc.http.get("/v1/deliveries", params={"event_type": event_type, "limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        second = (
            await esc.http.get(
                "/v1/deliveries", params={"event_type": event_type, "limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert second["next_cursor"] is None
        items = first["items"] + second["items"]
        assert [d["created_at"][:19] for d in items] == [f"2100-01-01T00:00:0{n}" for n in (2, 1, 0)]
        assert all("secret" not in d and "payload" not in d for d in items)
        assert all(d["state"] == "pending" and d["next_attempt_at"] for d in items)

        detail = (await esc.http.get(f"/v1/deliveries/{items[0]['id']}")).json()
        assert detail["payload"] == {"n": 2} and detail["attempt_log"] == []
        pending = await esc.http.post(f"/v1/deliveries/{items[0]['id']}/replay")
        assert pending.status_code == 409


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "query.state"),
        ({"stat": "failed"}, "stat"),
        ({"cursor": "bm9wZQ=="}, "cursor"),
        ({"limit": "0"}, "query.limit"),
    ],
)
async def test_bad_delivery_queries_are_422s_naming_the_parameter(infra, params, field):
    async with escalation_app(infra) as esc:
        assert field in fields_of(await esc.http.get("/v1/deliveries", params=params))


async def test_unknown_deliveries_are_404s(infra):
    async with escalation_app(infra) as esc:
        assert (await esc.http.get("/v1/deliveries/nope")).status_code == 404
        assert (await esc.http.post("/v1/deliveries/nope/replay")).status_code == 404


async def test_a_manager_reads_deliveries_but_neither_replays_nor_manages_subscriptions(infra):
    async with escalation_app(infra) as esc:
        secret = generate_secret("manager")
        event = ApiKeyIssued(
            key_id=str(uuid.uuid4()), key_hash=hash_key(secret), role="manager", name="m", issued_at=datetime.now(UTC)
        )
        await produce(infra.bootstrap_servers, topics.ACCESS, envelope_of(event).to_bytes(), key=event.key_id)
        manager = {"Authorization": f"Bearer {secret}"}

        async def accepted() -> bool:
            return (await esc.http.get("/v1/deliveries", headers=manager)).status_code == 200

        await eventually(accepted, timeout=30)
        assert (await esc.http.post("/v1/deliveries/any/replay", headers=manager)).status_code == 403
        assert (await esc.http.get("/v1/subscriptions", headers=manager)).status_code == 403
        assert (await esc.http.get("/v1/deliveries", headers={"Authorization": "Bearer nope"})).status_code == 401
