"""Agents' tools on the real stack: roles, own assignments only, changes as events, lists with cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.events.routing import TicketAssigned, TicketUnassigned
from tests.support.events import envelope_of
from tests.support.ingest import ingest_client, issue_key, unique
from tests.support.kafka import about, eventually, produce, read_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


async def open_ticket(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {
        "subject": "Cannot log in",
        "body": "Password reset mail never arrives.",
        "requester": {"email": "Eve@Customer.example", "name": "Eve"},
        **overrides,
    }
    response = await http.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def assign(infra, http, ticket_id: str, agent_id: str) -> None:
    event = TicketAssigned(
        ticket_id=ticket_id, agent_id=agent_id, queue="triage", reason="test", assigned_at=datetime.now(UTC)
    )
    await produce(
        infra.bootstrap_servers,
        topics.ROUTING,
        envelope_of(event, source="/switchboard/router").to_bytes(),
        key=ticket_id,
    )

    async def assigned() -> bool:
        ticket = (await http.get(f"/v1/tickets/{ticket_id}")).json()
        return (ticket["assignee_agent_id"], ticket["queue"]) == (agent_id, "triage")  # both, from one event

    await eventually(assigned, timeout=30)


async def test_an_agent_acts_only_on_their_own_assignments(http, infra):
    ticket = await open_ticket(http)
    bea_id = unique("bea")
    bea = await issue_key(http, "agent", agent_id=bea_id)
    cal = await issue_key(http, "agent", agent_id=unique("cal"))

    refused = await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "On it"}, headers=bea)
    assert refused.status_code == 403 and "not assigned" in refused.json()["detail"]

    await assign(infra, http, ticket["id"], bea_id)
    reply = await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "Sent a new link."}, headers=bea)
    assert reply.status_code == 201, reply.text
    assert (reply.json()["author_kind"], reply.json()["author_agent_id"]) == ("agent", bea_id)
    note = await http.post(
        f"/v1/tickets/{ticket['id']}/messages", json={"body": "Check SPF", "public": False}, headers=bea
    )
    assert note.status_code == 201 and note.json()["public"] is False
    assert (
        await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "mine!"}, headers=cal)
    ).status_code == 403

    unassigned = TicketUnassigned(
        ticket_id=ticket["id"], agent_id=bea_id, reason="offline", unassigned_at=datetime.now(UTC)
    )
    await produce(infra.bootstrap_servers, topics.ROUTING, envelope_of(unassigned).to_bytes(), key=ticket["id"])

    async def freed() -> bool:
        return (await http.get(f"/v1/tickets/{ticket['id']}")).json()["assignee_agent_id"] is None

    await eventually(freed, timeout=30)
    assert (await http.patch(f"/v1/tickets/{ticket['id']}", json={"status": "solved"}, headers=bea)).status_code == 403


async def test_changes_are_applied_and_published_as_events(http, infra):
    ticket = await open_ticket(http)
    manager = await issue_key(http, "manager")
    agent_reply = await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "Looking"})
    assert agent_reply.status_code == 201
    patched = await http.patch(
        f"/v1/tickets/{ticket['id']}",
        headers=manager,
        json={"status": "pending", "priority": "high", "tags": ["Login"], "custom_fields": {"plan": "pro"}},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["status"], body["priority"], body["tags"], body["custom_fields"]) == (
        "pending",
        "high",
        ["login"],
        {"plan": "pro"},
    )
    conflict = await http.patch(f"/v1/tickets/{ticket['id']}", json={"status": "closed"}, headers=manager)
    assert conflict.status_code == 409 and "solved" in conflict.json()["detail"]

    expected = ["received", "message_added", "status_changed", "fields_changed", "priority_changed", "status_changed"]
    records = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, ticket["id"])) >= len(expected)
    )
    events = about(records, ticket["id"])
    assert [e.type.rsplit(".", 1)[1] for e in events] == expected
    assert (events[2].data["old_status"], events[2].data["new_status"]) == ("new", "open"), (
        "the first agent reply opens it"
    )
    assert events[5].data["new_status"] == "pending"


async def test_satisfaction_is_recorded_through_the_tickets_platform(http):
    source = unique("shop")
    ticket = await open_ticket(http, external_ref={"source": source, "external_id": "77"})
    own = await issue_key(http, "platform", source=source)
    other = await issue_key(http, "platform", source=unique("other"))
    await http.post(f"/v1/tickets/{ticket['id']}/messages", json={"body": "customer seems upset", "public": False})
    seen = (await http.get(f"/v1/tickets/{ticket['id']}", headers=own)).json()
    assert [m["body"] for m in seen["messages"]] == ["Password reset mail never arrives."], (
        "platforms never see internal notes"
    )
    assert (await http.get(f"/v1/tickets/{ticket['id']}", headers=other)).status_code == 403
    rated = await http.post(
        f"/v1/tickets/{ticket['id']}/satisfaction", json={"rating": "good", "comment": "fast"}, headers=own
    )
    assert rated.status_code == 200 and rated.json()["satisfaction"]["rating"] == "good"
    assert (
        await http.post(f"/v1/tickets/{ticket['id']}/satisfaction", json={"rating": "good"}, headers=other)
    ).status_code == 403
    bad = await http.post(f"/v1/tickets/{ticket['id']}/satisfaction", json={"rating": "meh"}, headers=own)
    assert bad.status_code == 422 and "rating" in bad.json()["detail"]


async def test_lists_filter_and_page_with_a_cursor(http):
    brand = unique("brand")
    created = [await open_ticket(http, brand=brand, subject=f"ticket {i}") for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"brand": brand, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/v1/tickets", params=params)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [t["id"] for t in reversed(created)], "newest first, each once"
    by_requester = (await http.get("/v1/tickets", params={"requester": "eve@customer.example", "brand": brand})).json()[
        "items"
    ]
    assert len(by_requester) == 5
    assert (await http.get("/v1/tickets", params={"cursor": "garbage!"})).status_code == 422


async def test_idempotency_key_makes_api_retries_safe_and_keys_are_required(http):
    body = {
        "subject": "Once",
        "body": "only once",
        "requester": {"email": "x@customer.example"},
        "brand": unique("idem"),
    }
    first = await http.post("/v1/tickets", json=body, headers={"Idempotency-Key": "abc-1"})
    second = await http.post("/v1/tickets", json=body, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert len((await http.get("/v1/tickets", params={"brand": body["brand"]})).json()["items"]) == 1
    anonymous = await http.get("/v1/tickets", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    wrong = await http.get("/v1/tickets", headers={"Authorization": "Bearer sb_admin_nope"})
    assert wrong.status_code == 401


async def test_a_reply_is_posted_to_the_ticket_its_reference_names(http, infra):
    ticket = await open_ticket(http)
    bea_id = unique("bea")
    bea = await issue_key(http, "agent", agent_id=bea_id)
    by_reference = f"/v1/tickets/{ticket['reference']}/messages"
    refused = await http.post(by_reference, json={"body": "On it"}, headers=bea)
    assert refused.status_code == 403 and "not assigned" in refused.json()["detail"], "the same checks, by reference"

    await assign(infra, http, ticket["id"], bea_id)
    reply = await http.post(by_reference, json={"body": "Sent a new link."}, headers=bea)
    assert reply.status_code == 201, reply.text
    seen = (await http.get(f"/v1/tickets/{ticket['id']}")).json()
    assert [m["body"] for m in seen["messages"]][-1] == "Sent a new link."
    records = await read_all(
        infra.bootstrap_servers,
        topics.TICKETS,
        until=lambda rs: any(e.type.endswith("message_added") for e in about(rs, ticket["id"])),
    )
    assert [e.data["ticket_id"] for e in about(records, ticket["id"]) if e.type.endswith("message_added")] == [
        ticket["id"]
    ], "the event names the ticket by its id, whatever the caller named it by"


async def test_a_ticket_is_changed_through_its_reference(http):
    ticket = await open_ticket(http)
    manager = await issue_key(http, "manager")
    patched = await http.patch(
        f"/v1/tickets/{ticket['reference']}", headers=manager, json={"priority": "high", "tags": ["Login"]}
    )
    assert patched.status_code == 200, patched.text
    changed = patched.json()
    assert (changed["id"], changed["priority"], changed["tags"]) == (ticket["id"], "high", ["login"])
    assert (await http.get(f"/v1/tickets/{ticket['id']}")).json()["priority"] == "high"
    conflict = await http.patch(f"/v1/tickets/{ticket['reference']}", json={"status": "closed"}, headers=manager)
    assert conflict.status_code == 409, "the same transitions, by reference"


async def test_satisfaction_is_recorded_through_the_reference(http):
    source = unique("shop")
    ticket = await open_ticket(http, external_ref={"source": source, "external_id": "78"})
    own = await issue_key(http, "platform", source=source)
    other = await issue_key(http, "platform", source=unique("other"))
    by_reference = f"/v1/tickets/{ticket['reference']}/satisfaction"
    assert (await http.post(by_reference, json={"rating": "good"}, headers=other)).status_code == 403
    rated = await http.post(by_reference, json={"rating": "bad", "comment": "slow"}, headers=own)
    assert rated.status_code == 200, rated.text
    assert (rated.json()["id"], rated.json()["satisfaction"]["rating"]) == (ticket["id"], "bad")
    assert (await http.get(f"/v1/tickets/{ticket['reference']}", headers=own)).json()["satisfaction"]["rating"] == "bad"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"priority": "low"}),
        ("POST", "/messages", {"body": "hello"}),
        ("POST", "/satisfaction", {"rating": "good"}),
    ],
)
async def test_an_unknown_reference_is_a_404_naming_the_path_field(http, method, suffix, body):
    missing = f"SB-{uuid.uuid4().int % 10**12}"
    response = await http.request(method, f"/v1/tickets/{missing}{suffix}", json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == f"ticket_id: no ticket with id or reference {missing!r}"
    assert [e["field"] for e in problem["errors"]] == ["path.ticket_id"]
