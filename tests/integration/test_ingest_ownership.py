"""External references belong to their source: who may file a ticket under one, and who reads it back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.ingest import ingest_client, issue_key, unique

pytestmark = pytest.mark.integration


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


def ticket(**extra: Any) -> dict[str, Any]:
    return {
        "subject": "Refund please",
        "body": "Charged twice.",
        "requester": {"email": "own@customer.example"},
        **extra,
    }


async def tickets_under(http: httpx.AsyncClient, source: str, external_id: str) -> list[dict[str, Any]]:
    listed = await http.get("/v1/tickets", params={"external_source": source, "external_id": external_id})
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_only_the_sources_platform_key_or_an_admin_files_a_ticket_under_its_reference(http):
    source = unique("shop")
    agent = await issue_key(http, "agent", agent_id=unique("agent"))
    other_platform = await issue_key(http, "platform", source=unique("other"))
    own_platform = await issue_key(http, "platform", source=source)

    for key in (agent, other_platform):
        ref = {"source": source, "external_id": unique("captured")}
        refused = await http.post("/v1/tickets", json=ticket(external_ref=ref), headers=key)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "external_ref.source" in refused.json()["detail"] and source in refused.json()["detail"]
        assert await tickets_under(http, source, ref["external_id"]) == [], "nothing is filed under the reference"

    for key in (own_platform, {}):  # {}: the client's own admin key
        ref = {"source": source, "external_id": unique("own")}
        created = await http.post("/v1/tickets", json=ticket(external_ref=ref), headers=key)
        assert created.status_code == 201, created.text
        assert [t["id"] for t in await tickets_under(http, source, ref["external_id"])] == [created.json()["id"]]


async def test_a_platform_reads_back_the_ticket_it_created_without_a_reference(http):
    source = unique("shop")
    own = await issue_key(http, "platform", source=source)
    other = await issue_key(http, "platform", source=unique("other"))
    created = await http.post("/v1/tickets", json=ticket(), headers=own)
    assert created.status_code == 201, created.text
    assert created.json()["inbox"] == source, "a platform's tickets are filed under its source"

    read = await http.get(f"/v1/tickets/{created.json()['id']}", headers=own)
    assert read.status_code == 200, read.text
    assert [m["body"] for m in read.json()["messages"]] == ["Charged twice."]
    assert (await http.get(f"/v1/tickets/{created.json()['id']}", headers=other)).status_code == 403


async def test_an_agent_may_not_give_a_chat_an_external_id(http):
    agent = await issue_key(http, "agent", agent_id=unique("agent"))
    external_id = unique("conv")
    body = {"requester": {"email": "ann@example.com"}, "message": "Hello", "external_id": external_id}
    refused = await http.post("/v1/chats", json=body, headers=agent)
    assert refused.status_code == 403, refused.text
    assert "external_id" in refused.json()["detail"]
    assert await tickets_under(http, "chat", external_id) == []
    without = await http.post("/v1/chats", json={**body, "external_id": None}, headers=agent)
    assert without.status_code == 201, "an agent still opens chats on a customer's behalf"
