"""Webhooks into ingest on the real stack: signatures, replay window, idempotency, updates, bad input."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.webhooks import sign_chatwoot, sign_intercom, sign_standard, sign_zendesk
from shared.clock import FakeClock
from shared.events import topics
from tests.support.ingest import ingest_client, issue_key, shared_data, signed_webhook, unique
from tests.support.kafka import about, read_all
from tests.unit.ingest_webhooks._shapes import CW_CONVERSATION

pytestmark = pytest.mark.integration
SECRET, NEW_SECRET = "whsec_" + "c2VjcmV0LW9uZS1mb3ItdGVzdHM=", "second-secret-after-rotation"


def signed(body: dict, secret: str = SECRET, *, msg_id: str | None = None, at: int | None = None) -> tuple[bytes, dict]:
    return signed_webhook(body, secret, msg_id=msg_id, at=at)


def created(external_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "ticket.created",
        "external_id": external_id,
        "subject": "Cannot export invoices",
        "body": "The export button spins forever.",
        "requester": {"email": "Dana@Customer.example", "name": "Dana"},
        **extra,
    }


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


@pytest.fixture
async def source(http) -> str:
    name = unique("acme")
    response = await http.put(
        f"/v1/admin/webhook-sources/{name}", json={"kind": "generic", "secrets": [SECRET], "brand": "acme"}
    )
    assert response.status_code == 200, response.text
    return name


async def test_a_signed_webhook_retried_five_times_makes_one_ticket(http, source, infra):
    raw, headers = signed(created("ext-1"))
    answers = [await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers) for _ in range(5)]
    assert {a.status_code for a in answers} == {202}
    assert all(a.json() == answers[0].json() for a in answers), "every retry gets the first answer"
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None] + ["true"] * 4
    (result,) = answers[0].json()["results"]
    assert result["action"] == "ticket_opened"

    listed = (await http.get("/v1/tickets", params={"external_source": source, "external_id": "ext-1"})).json()["items"]
    assert [t["id"] for t in listed] == [result["ticket_id"]]
    ticket = listed[0]
    assert (ticket["brand"], ticket["requester"]["email"], ticket["inbox"]) == ("acme", "dana@customer.example", source)

    # a new delivery of the same ticket (different webhook-id) is recognised by its external id
    raw, headers = signed(created("ext-1"))
    again = (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).json()["results"][0]
    assert again["action"] == "unchanged" and again["ticket_id"] == result["ticket_id"]

    records = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, result["ticket_id"])) >= 1
    )
    assert [e.type for e in about(records, result["ticket_id"])] == ["switchboard.ticket.received"]


async def test_updates_map_to_the_matching_events(http, source, infra):
    raw, headers = signed(created("ext-2"))
    ticket_id = (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).json()["results"][0][
        "ticket_id"
    ]
    updates: list[dict[str, Any]] = [
        {"event": "message.created", "external_id": "ext-2", "body": "Any news?", "author_kind": "customer"},
        {"event": "ticket.status_changed", "external_id": "ext-2", "status": "pending"},
        {"event": "ticket.priority_changed", "external_id": "ext-2", "priority": "urgent"},
        {
            "event": "ticket.fields_changed",
            "external_id": "ext-2",
            "tags": ["Export", "vip"],
            "custom_fields": {"plan": "pro"},
        },
        {"event": "satisfaction.rated", "external_id": "ext-2", "rating": "bad", "comment": "slow"},
    ]
    for update in updates:
        raw, headers = signed(update)
        response = await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)
        assert response.status_code == 202, response.text
    ticket = (await http.get(f"/v1/tickets/{ticket_id}")).json()
    assert (ticket["status"], ticket["priority"], ticket["tags"]) == ("pending", "urgent", ["export", "vip"])
    assert ticket["custom_fields"] == {"plan": "pro"} and ticket["satisfaction"]["rating"] == "bad"
    assert [m["body"] for m in ticket["messages"]] == ["The export button spins forever.", "Any news?"]

    expected = [
        "received",
        "message_added",
        "status_changed",
        "priority_changed",
        "fields_changed",
        "satisfaction_rated",
    ]
    records = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, ticket_id)) >= len(expected)
    )
    assert [e.type.rsplit(".", 1)[1] for e in about(records, ticket_id)] == expected


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "future", "missing"])
async def test_unauthentic_requests_are_401_and_change_nothing(http, source, tamper):
    external_id = unique("forged")
    body = created(external_id)
    now = int(time.time())
    raw, headers = signed(
        body,
        "not-the-secret" if tamper == "secret" else SECRET,
        at={"stale": now - 310, "future": now + 310}.get(tamper, now),
    )
    if tamper == "body":
        raw = raw.replace(b"forever", b"for ever")
    if tamper == "missing":
        headers = {"content-type": "application/json"}
    response = await http.post(f"/v1/webhooks/{source}", content=raw, headers={**headers, "authorization": ""})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json" and response.json()["detail"]
    listed = (await http.get("/v1/tickets", params={"external_source": source, "external_id": external_id})).json()[
        "items"
    ]
    assert listed == []


async def test_secrets_rotate_with_two_valid_at_once(http, source):
    await http.put(
        f"/v1/admin/webhook-sources/{source}",
        json={"kind": "generic", "secrets": [SECRET, NEW_SECRET], "brand": "acme"},
    )
    for secret in (SECRET, NEW_SECRET):
        raw, headers = signed(created(unique("rot")), secret)
        assert (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).status_code == 202
    await http.put(
        f"/v1/admin/webhook-sources/{source}", json={"kind": "generic", "secrets": [NEW_SECRET], "brand": "acme"}
    )
    raw, headers = signed(created(unique("rot")), SECRET)
    assert (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).status_code == 401


async def test_platform_keys_post_only_to_their_own_source(http, source):
    own = await issue_key(http, "platform", source=source)
    other = await issue_key(http, "platform", source="someone-else")
    body = json.dumps(created(unique("key"))).encode()
    assert (await http.post(f"/v1/webhooks/{source}", content=body, headers=own)).status_code == 202
    assert (await http.post(f"/v1/webhooks/{source}", content=body, headers=other)).status_code == 403


async def test_zendesk_signs_its_own_way(http, infra):
    name = unique("zd")
    await http.put(f"/v1/admin/webhook-sources/{name}", json={"kind": "zendesk", "secrets": ["zd-signing-secret"]})
    payload = {
        "type": "zen:event-type:ticket.created",
        "id": str(uuid.uuid4()),
        "time": "2026-11-24T10:00:00Z",
        "detail": {
            "id": "8812",
            "subject": "Printer on fire",
            "description": "Smoke everywhere",
            "priority": "URGENT",
            "status": "NEW",
            "requester_id": "501",
            "tags": ["hardware"],
        },
    }
    raw = json.dumps(payload).encode()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    headers = {
        "x-zendesk-webhook-signature": sign_zendesk("zd-signing-secret", stamp, raw),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "content-type": "application/json",
        "authorization": "",
    }
    response = await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["results"][0]["action"] == "ticket_opened"
    headers["x-zendesk-webhook-signature"] = sign_zendesk("wrong", stamp, raw)
    assert (await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers)).status_code == 401


async def test_bad_input_is_a_clear_problem_never_a_500(http, source):
    raw, headers = signed(created("x", priority="asap"))
    invalid = await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)
    assert invalid.status_code == 422 and "priority" in invalid.json()["detail"]

    raw, headers = signed(created("x", priority="asap", channel="fax", tags="urgent"))
    several = (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).json()
    assert {e["field"] for e in several["errors"]} >= {"priority", "channel", "tags"}, "every problem is listed"

    raw, headers = signed({})
    headers["webhook-signature"] = sign_standard(
        SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), b"{not json"
    )
    broken = await http.post(f"/v1/webhooks/{source}", content=b"{not json", headers=headers)
    assert broken.status_code == 422 and "JSON" in broken.json()["detail"]

    assert (await http.post(f"/v1/webhooks/{unique('nobody')}", content=b"{}", headers=headers)).status_code == 404
    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert (await http.post(f"/v1/webhooks/{source}", content=huge, headers=headers)).status_code == 413
    metrics = (await http.get("/metrics")).text
    assert 'switchboard_http_rejected_total{status="413"' in metrics


async def test_a_malformed_secret_is_refused_when_configured_not_when_used(http):
    response = await http.put(
        f"/v1/admin/webhook-sources/{unique('bad')}", json={"kind": "generic", "secrets": ["whsec_***"]}
    )
    assert response.status_code == 422 and response.json()["detail"].startswith("secrets:")


async def test_a_platform_closing_an_open_ticket_passes_it_through_solved(http, source, infra):
    raw, headers = signed(created("ext-close"))
    ticket_id = (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).json()["results"][0][
        "ticket_id"
    ]
    raw, headers = signed({"event": "ticket.status_changed", "external_id": "ext-close", "status": "closed"})
    result = (await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)).json()["results"][0]
    assert result["action"] == "status_changed"
    assert (await http.get(f"/v1/tickets/{ticket_id}")).json()["status"] == "closed"
    records = await read_all(infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, ticket_id)) >= 3)
    changes = [
        (e.data["old_status"], e.data["new_status"])
        for e in about(records, ticket_id)
        if e.type.endswith("status_changed")
    ]
    assert changes == [("new", "solved"), ("solved", "closed")]


async def test_long_delivery_ids_sharing_a_prefix_are_two_deliveries(http, source):
    prefix = "msg_" + "x" * 250  # longer than any cut, so only the ends differ
    answers = []
    for end in ("a", "b"):
        raw, headers = signed(created(unique("long")), msg_id=prefix + end)
        answers.append(await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers))
    assert [a.status_code for a in answers] == [202, 202]
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, None]
    assert [a.json()["results"][0]["action"] for a in answers] == ["ticket_opened", "ticket_opened"]
    # and a retry of the second is still recognised as one
    raw, headers = signed(created("unused"), msg_id=prefix + "b")
    retry = await http.post(f"/v1/webhooks/{source}", content=raw, headers=headers)
    assert retry.headers.get("idempotent-replayed") == "true" and retry.json() == answers[1].json()


# --- replays of natively signed requests: the unsigned delivery headers are not trusted -----------

INTERCOM_SAMPLE = shared_data() / "webhooks" / "zulip-intercom" / "conversation_user_created.json"


async def configured(http, kind: str, secret: str) -> str:
    name = unique(kind)
    response = await http.put(f"/v1/admin/webhook-sources/{name}", json={"kind": kind, "secrets": [secret]})
    assert response.status_code == 200, response.text
    return name


def zendesk_request(secret: str) -> tuple[bytes, dict[str, str]]:
    payload = {
        "type": "zen:event-type:ticket.created",
        "id": str(uuid.uuid4()),
        "time": "2026-11-24T10:00:00Z",
        "detail": {"id": "9001", "subject": "Login loops", "description": "It asks again", "requester_id": "7"},
    }
    raw = json.dumps(payload).encode()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return raw, {
        "x-zendesk-webhook-signature": sign_zendesk(secret, stamp, raw),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-invocation-id": f"inv-{uuid.uuid4().hex}",
    }


def chatwoot_request(secret: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(CW_CONVERSATION | {"event": "conversation_created"}).encode()
    stamp = str(int(time.time()))
    return raw, {
        "x-chatwoot-signature": sign_chatwoot(secret, stamp, raw),
        "x-chatwoot-timestamp": stamp,
        "x-chatwoot-delivery": f"dlv-{uuid.uuid4().hex}",
    }


def intercom_request(secret: str) -> tuple[bytes, dict[str, str]]:
    raw = INTERCOM_SAMPLE.read_bytes()
    return raw, {"x-hub-signature": sign_intercom(secret, raw)}


def fresh_ids() -> dict[str, str]:
    """What a replayer adds: unsigned delivery ids never seen before (and no API key)."""
    return {
        "webhook-id": f"msg_{uuid.uuid4().hex}",
        "idempotency-key": uuid.uuid4().hex,
        "x-zendesk-webhook-invocation-id": f"inv-{uuid.uuid4().hex}",
        "x-chatwoot-delivery": f"dlv-{uuid.uuid4().hex}",
    }


@pytest.mark.parametrize(
    ("kind", "request_of"),
    [("zendesk", zendesk_request), ("chatwoot", chatwoot_request), ("intercom", intercom_request)],
)
async def test_a_native_request_replayed_with_fresh_delivery_ids_is_answered_like_a_retry(http, kind, request_of):
    name = await configured(http, kind, f"{kind}-signing-secret")
    raw, headers = request_of(f"{kind}-signing-secret")
    headers |= {"content-type": "application/json", "authorization": ""}
    first = await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["results"][0]["action"] == "ticket_opened"
    for _ in range(2):
        replayed = await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers | fresh_ids())
        assert replayed.status_code == 202, replayed.text
        assert replayed.headers.get("idempotent-replayed") == "true"
        assert replayed.json() == first.json()
    tickets = (await http.get("/v1/tickets", params={"external_source": name})).json()["items"]
    assert len(tickets) == 1


async def test_an_intercom_request_replayed_a_month_later_is_still_a_replay(infra):
    clock = FakeClock(datetime.now(UTC))
    async with ingest_client(infra, clock=clock) as http:
        name = await configured(http, "intercom", "intercom-client-secret")
        raw, headers = intercom_request("intercom-client-secret")
        headers |= {"content-type": "application/json", "authorization": ""}
        first = await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers)
        assert first.json()["results"][0]["action"] == "ticket_opened"
        clock.advance(timedelta(days=30))
        replayed = await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers | fresh_ids())
        assert replayed.headers.get("idempotent-replayed") == "true" and replayed.json() == first.json()


async def test_a_native_request_signed_anew_is_a_new_delivery(http):
    """The key is what the signature covers: the same body signed at another time is not a replay."""
    name = await configured(http, "chatwoot", "cw-secret")
    raw = json.dumps(CW_CONVERSATION | {"event": "conversation_created"}).encode()
    answers = []
    for stamp in (int(time.time()) - 1, int(time.time())):
        headers = {
            "x-chatwoot-signature": sign_chatwoot("cw-secret", stamp, raw),
            "x-chatwoot-timestamp": str(stamp),
            "x-chatwoot-delivery": f"dlv-{stamp}",  # without one, the same body would be taken for a retry
        }
        answers.append(await http.post(f"/v1/webhooks/{name}", content=raw, headers=headers | {"authorization": ""}))
    assert [a.headers.get("idempotent-replayed") for a in answers] == [None, None]
    assert [a.json()["results"][0]["action"] for a in answers] == ["ticket_opened", "unchanged"]
