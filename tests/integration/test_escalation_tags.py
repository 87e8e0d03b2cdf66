"""An escalation level's add_tags on the real stack: ingest adds the tags to its ticket and says so
with a TicketFieldsChanged, once, as any tag edit does; escalation records the action as requested."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.events import topics
from shared.events.escalation import EscalationLevelReached, EscalationRequested
from shared.events.tickets import TicketFieldsChanged
from tests.support.escalation_core import breach, escalation_service
from tests.support.events import envelope_of
from tests.support.ingest import ingest_client, unique
from tests.support.kafka import about, eventually, produce, read_all

pytestmark = pytest.mark.integration


async def new_ticket(http, *tags: str) -> str:
    body = {"subject": "Charged twice", "body": "Invoice 7.", "requester": {"email": "t@customer.example"}}
    created = await http.post("/v1/tickets", json={**body, "tags": list(tags)})
    assert created.status_code == 201, created.text
    ticket_id: str = created.json()["id"]
    return ticket_id


async def tags_become(http, ticket_id: str, tags: list[str]) -> None:
    async def check() -> bool:
        return (await http.get(f"/v1/tickets/{ticket_id}")).json()["tags"] == tags

    await eventually(check, timeout=30)


async def solve(http, ticket_id: str) -> None:
    """Done, so no later test's agent is handed it (other tests' policies may have moved it to a queue anyone serves)."""
    assert (await http.patch(f"/v1/tickets/{ticket_id}", json={"status": "solved"})).status_code == 200


async def request(infra, ticket_id: str, *tags: str, event_id: str | None = None) -> str:
    event = EscalationRequested(
        ticket_id=ticket_id, reason="escalation p level 1", requested_at=datetime.now(UTC), add_tags=tags
    )
    envelope = envelope_of(event, event_id=event_id, source="/switchboard/escalation")
    await produce(infra.bootstrap_servers, topics.ESCALATIONS, envelope.to_bytes(), key=ticket_id)
    return envelope.id


async def test_requested_tags_join_the_tickets_own_once_with_one_fields_changed(infra):
    async with ingest_client(infra) as http:
        ticket_id = await new_ticket(http, "billing")
        event_id = await request(infra, ticket_id, "Escalated", "billing", "tier2")
        await tags_become(http, ticket_id, ["billing", "escalated", "tier2"])

        await request(infra, ticket_id, "tier2", event_id=event_id)  # the same event again: the inbox drops it
        await request(infra, ticket_id, "escalated")  # tags it has: nothing to say
        await request(infra, ticket_id, "vip")
        await tags_become(http, ticket_id, ["billing", "escalated", "tier2", "vip"])
        records = await read_all(
            infra.bootstrap_servers,
            topics.TICKETS,
            until=lambda rs: sum(e.type == TicketFieldsChanged.TYPE for e in about(rs, ticket_id)) >= 2,
            settle=1.0,
        )
        changes = [e.data["tags"] for e in about(records, ticket_id) if e.type == TicketFieldsChanged.TYPE]
        assert changes == [["billing", "escalated", "tier2"], ["billing", "escalated", "tier2", "vip"]]
        await solve(http, ticket_id)


async def test_a_breach_whose_level_adds_tags_tags_the_ticket(infra):
    async with ingest_client(infra) as http, escalation_service(infra) as esc:
        tag = unique("esc")
        ticket_id = await new_ticket(http)
        policy_id = unique("tags")
        await esc.policy(
            policy_id,
            triggers=[{"kind": "sla_breached", "metrics": ["first_reply"]}],
            levels=[{"delay_s": 0, "actions": [{"type": "add_tags", "tags": [tag, "escalated"]}]}],
        )
        await esc.send(breach(ticket_id))
        [opened] = await esc.escalations_of(ticket_id, policy_id)

        async def tagged() -> bool:
            tags = (await http.get(f"/v1/tickets/{ticket_id}")).json()["tags"]
            return tag in tags and "escalated" in tags

        await eventually(tagged, timeout=30)
        records = await read_all(
            infra.bootstrap_servers,
            topics.ESCALATIONS,
            until=lambda rs: any(
                e.type == EscalationLevelReached.TYPE and e.data["escalation_id"] == opened["id"]
                for e in about(rs, ticket_id)
            ),
        )
        [reached] = [
            e.data
            for e in about(records, ticket_id)
            if e.type == EscalationLevelReached.TYPE and e.data["escalation_id"] == opened["id"]
        ]
        assert [(a["type"], a["outcome"]) for a in reached["actions"]] == [("add_tags", "requested")]
        assert (await esc.http.delete(f"/v1/escalation-policies/{policy_id}")).status_code == 204
        await solve(http, ticket_id)
