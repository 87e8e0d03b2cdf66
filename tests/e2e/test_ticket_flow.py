"""A ticket from ingest's REST API to a queue at the router, across real processes, Kafka and Postgres."""

from __future__ import annotations

import httpx
import pytest

from shared.events import topics
from tests.support.api import ADMIN
from tests.support.kafka import about, eventually, read_all

pytestmark = pytest.mark.e2e

TICKET = {
    "subject": "Refund for order 1042",
    "body": "I was charged twice.",
    "requester": {"email": "bob@example.com", "name": "Bob", "tier": "pro"},
    "priority": "high",
    "tags": ["Refund", "refund", " printer "],
}


async def test_a_ticket_posted_to_ingest_is_queued_by_the_router(services, infra):
    ingest, router = services["ingest"].url, services["router"].url
    async with httpx.AsyncClient(timeout=10, headers=ADMIN) as http:
        created = await http.post(
            f"{ingest}/v1/tickets", json=TICKET, headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
        assert ticket["reference"].startswith("SB-") and ticket["status"] == "new"
        assert ticket["tags"] == ["refund", "printer"]

        fetched = (await http.get(f"{ingest}/v1/tickets/{ticket['id']}")).json()
        assert [m["body"] for m in fetched["messages"]] == ["I was charged twice."]

        async def routed() -> dict | None:
            response = await http.get(f"{router}/v1/tickets/{ticket['id']}")
            return response.json() if response.status_code == 200 else None

        view = await eventually(routed, timeout=30)
        assert view["queue"] == "triage" and view["priority"] == "high" and view["status"] == "waiting"
        waiting = (await http.get(f"{router}/v1/queues/triage/waiting")).json()
        assert ticket["id"] in [t["ticket_id"] for t in waiting]

    received = await read_all(
        infra.bootstrap_servers, topics.TICKETS, until=lambda rs: len(about(rs, ticket["id"])) >= 1
    )
    (record,) = [r for r in received if r.key == ticket["id"].encode()]
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.startswith("00-" + "a" * 32), "the trace id of the HTTP request travels with the event"


async def test_bad_input_gets_problem_json_naming_the_field(services):
    async with httpx.AsyncClient(base_url=services["ingest"].url, timeout=10, headers=ADMIN) as http:
        response = await http.post("/v1/tickets", json={**TICKET, "priority": "whenever"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "priority" in response.json()["detail"]

        malformed = await http.post("/v1/tickets", content=b"{not json", headers={"content-type": "application/json"})
        assert malformed.status_code == 422 and malformed.json()["detail"]

        missing = await http.get("/v1/tickets/does-not-exist")
        assert missing.status_code == 404
        assert missing.json()["detail"] == "ticket_id: no ticket with id or reference 'does-not-exist'"
