"""`GET /v1/tickets` filters on the real stack: each filter narrows, unknown parameters and values are 422s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.events.routing import TicketQueueChanged, TicketRouted
from tests.support.events import envelope_of
from tests.support.ingest import ingest_client, issue_key, unique
from tests.support.kafka import eventually, produce

pytestmark = pytest.mark.integration


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


async def open_ticket(http: httpx.AsyncClient, brand: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "subject": "Cannot log in",
        "body": "Password reset mail never arrives.",
        "requester": {"email": "eve@customer.example", "name": "Eve"},
        "brand": brand,
        **overrides,
    }
    response = await http.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def ids(http: httpx.AsyncClient, **params: Any) -> set[str]:
    response = await http.get("/v1/tickets", params=params)
    assert response.status_code == 200, response.text
    return {t["id"] for t in response.json()["items"]}


async def test_channel_priority_and_tags_narrow_the_list(http):
    brand = unique("brand")
    chat = await open_ticket(http, brand, channel="chat", priority="high", tags=["vip", "billing"])
    api = await open_ticket(http, brand, tags=["billing"])
    assert await ids(http, brand=brand, channel="chat") == {chat["id"]}
    assert await ids(http, brand=brand, channel="api") == {api["id"]}
    assert await ids(http, brand=brand, priority="high") == {chat["id"]}
    assert await ids(http, brand=brand, tag="billing") == {chat["id"], api["id"]}
    assert await ids(http, brand=brand, tag=["billing", "VIP"]) == {chat["id"]}, "every tag must match"


async def test_q_searches_subjects_and_message_bodies(http):
    brand = unique("brand")
    word = unique("refund").replace("-", "")
    by_subject = await open_ticket(http, brand, subject=f"Where is my {word}?")
    by_body = await open_ticket(http, brand, subject="Order 17")
    other = await open_ticket(http, brand, subject="Something else")
    reply = await http.post(f"/v1/tickets/{by_body['id']}/messages", json={"body": f"We sent the {word} today."})
    assert reply.status_code == 201
    assert await ids(http, brand=brand, q=word) == {by_subject["id"], by_body["id"]}
    assert await ids(http, brand=brand, q=f"{word} -today") == {by_subject["id"]}, "web search syntax"
    assert await ids(http, brand=brand, q="else") == {other["id"]}
    assert await ids(http, brand=brand, q="nowhere-to-be-found") == set()


async def test_created_window_and_unassigned(http):
    brand = unique("brand")
    ticket = await open_ticket(http, brand)
    created = datetime.fromisoformat(ticket["created_at"])
    before, after = (created - timedelta(seconds=1)).isoformat(), (created + timedelta(seconds=1)).isoformat()
    assert await ids(http, brand=brand, created_after=before, created_before=after) == {ticket["id"]}
    assert await ids(http, brand=brand, created_after=after) == set()
    assert await ids(http, brand=brand, created_before=before) == set()
    assert await ids(http, brand=brand, assignee="none") == {ticket["id"]}
    naive = await http.get("/v1/tickets", params={"created_after": "2026-01-01T10:00:00"})
    assert naive.status_code == 422 and "created_after" in naive.json()["detail"]


async def test_queue_is_learnt_from_routing_events(http, infra):
    brand = unique("brand")
    ticket = await open_ticket(http, brand)
    queue, moved = unique("billing"), unique("refunds")
    now = datetime.now(UTC)
    routed = TicketRouted(ticket_id=ticket["id"], queue=queue, priority="normal", reason="test", routed_at=now)
    await produce(infra.bootstrap_servers, topics.ROUTING, envelope_of(routed).to_bytes(), key=ticket["id"])
    await eventually(lambda: ids(http, queue=queue), timeout=30)
    assert await ids(http, queue=queue) == {ticket["id"]}
    changed = TicketQueueChanged(ticket_id=ticket["id"], from_queue=queue, to_queue=moved, reason="t", changed_at=now)
    await produce(infra.bootstrap_servers, topics.ROUTING, envelope_of(changed).to_bytes(), key=ticket["id"])
    await eventually(lambda: ids(http, queue=moved), timeout=30)
    assert (await http.get(f"/v1/tickets/{ticket['id']}")).json()["queue"] == moved
    assert await ids(http, queue=queue) == set()


async def test_a_ticket_is_found_by_its_reference_too(http):
    ticket = await open_ticket(http, unique("brand"))
    by_reference = await http.get(f"/v1/tickets/{ticket['reference']}")
    assert by_reference.status_code == 200 and by_reference.json()["id"] == ticket["id"]
    assert len(by_reference.json()["messages"]) == 1
    assert (await http.get("/v1/tickets/SB-0")).status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/tickets", {"channel": "fax"}, "channel"),
        ("/v1/tickets", {"status": "bogus"}, "status"),
        ("/v1/tickets", {"priority": "meh"}, "priority"),
        ("/v1/tickets", {"chanel": "chat"}, "chanel"),
        ("/v1/tickets", {"search": "refund"}, "search"),
        ("/v1/inbound/emails", {"outcome": "bogus"}, "outcome"),
        ("/v1/outbound/emails", {"status": "bogus"}, "status"),
        ("/v1/api-keys", {"role": "agent"}, "role"),
        ("/v1/admin/mailboxes", {"brand": "x"}, "brand"),
    ],
)
async def test_unknown_parameters_and_values_are_422_problems(http, path, params, field):
    manager = await issue_key(http, "manager")
    headers = {} if path.startswith(("/v1/api-keys", "/v1/admin")) else manager
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
