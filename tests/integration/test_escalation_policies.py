"""Escalation on the real stack: policies over REST, SLA breaches and messages from Kafka, levels on a FakeClock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from services.escalation.handlers.signals import on_sla_breached
from shared.events import topics
from shared.events.catalogue import decode
from shared.events.escalation import EscalationLevelReached, EscalationOpened, EscalationRequested
from shared.events.routing import TicketAssigned, TicketRouted
from shared.events.tickets import MessageAdded
from tests.support.escalation_core import Escalations, breach, escalation_service
from tests.support.ingest import unique
from tests.support.kafka import about, eventually, read_all

pytestmark = pytest.mark.integration
HOOK = {"type": "notify", "channel": "webhook", "target": "https://pager.example/hook", "secret": "whsec_dGVzdA=="}
SLACK = {"type": "notify", "channel": "slack", "target": "https://hooks.slack.example/T1/B2"}


@pytest.fixture
async def esc(infra):
    async with escalation_service(infra) as service:
        yield service


async def breach_policy(esc: Escalations, *, second_delay: int = 600) -> tuple[str, str]:
    queue = await esc.known_queue()
    policy_id = unique("breach")
    await esc.policy(
        policy_id,
        triggers=[{"kind": "sla_breached", "metrics": ["first_reply"]}],
        levels=[
            {
                "delay_s": 0,
                "actions": [
                    {"type": "move_to_queue", "queue": queue},
                    {"type": "raise_priority", "priority": "urgent"},
                    HOOK,
                ],
            },
            {"delay_s": second_delay, "actions": [SLACK]},
        ],
    )
    return policy_id, queue


async def test_policy_crud_versions_and_an_unknown_queue_is_a_422_naming_it(esc: Escalations):
    queue = await esc.known_queue()
    policy_id = unique("crud")
    body: dict[str, Any] = {
        "name": "Tier 2 on breach",
        "triggers": [{"kind": "sla_breached"}],
        "levels": [{"delay_s": 0, "actions": [{"type": "move_to_queue", "queue": "no-such-queue"}]}],
    }
    refused = await esc.http.put(f"/v1/escalation-policies/{policy_id}", json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    [error] = refused.json()["errors"]
    assert error["field"] == "levels.0.actions.0.queue" and "no-such-queue" in error["message"]

    body["levels"][0]["actions"][0]["queue"] = queue
    assert (await esc.http.put(f"/v1/escalation-policies/{policy_id}", json=body)).json()["version"] == 1
    body["levels"].append({"delay_s": -1, "actions": []})
    bad = await esc.http.put(f"/v1/escalation-policies/{policy_id}", json=body)
    assert {e["field"] for e in bad.json()["errors"]} == {"levels.1.delay_s", "levels.1.actions"}
    body["levels"][1] = {"delay_s": 300, "actions": [SLACK]}
    assert (await esc.http.put(f"/v1/escalation-policies/{policy_id}", json=body)).json()["version"] == 2
    shown = (await esc.http.get(f"/v1/escalation-policies/{policy_id}")).json()
    assert shown["version"] == 2 and shown["levels"][1]["actions"][0]["target"] == SLACK["target"]
    assert [v["version"] for v in (await esc.http.get(f"/v1/escalation-policies/{policy_id}/versions")).json()] == [
        1,
        2,
    ]
    taken = await esc.http.post("/v1/escalation-policies", json={"id": policy_id, **body})
    assert taken.status_code == 409
    assert (await esc.http.get("/v1/escalation-policies", params={"sort": "x"})).status_code == 422
    assert (await esc.http.delete(f"/v1/escalation-policies/{policy_id}")).status_code == 204
    assert (await esc.http.get(f"/v1/escalation-policies/{policy_id}")).status_code == 404


async def test_breach_opens_one_escalation_requests_routing_pages_and_level_2_fires_once(esc: Escalations):
    policy_id, queue = await breach_policy(esc)
    event = breach()
    event_id = await esc.send(event)
    [opened] = await esc.escalations_of(event.ticket_id, policy_id)
    assert (opened["state"], opened["level"], opened["trigger"]) == ("open", 1, "sla_breached:first_reply")
    assert await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:2"]

    records = await read_all(
        esc.infra.bootstrap_servers,
        topics.ESCALATIONS,
        until=lambda rs: any(e.type == EscalationLevelReached.TYPE for e in about(rs, event.ticket_id)),
    )
    mine = [decode(e) for e in about(records, event.ticket_id)]
    [request] = [e for e in mine if isinstance(e, EscalationRequested)]
    assert (request.to_queue, request.priority) == (queue, "urgent")
    assert any(isinstance(e, EscalationOpened) and e.escalation_id == opened["id"] for e in mine)

    # the same breach again, and the very same event redelivered: folded, nobody paged twice
    await esc.send(breach(event.ticket_id))
    await esc.send(event, event_id=event_id)

    async def folded() -> bool:
        return [h["step"] for h in (await esc.detail(opened["id"]))["history"]].count("folded") == 1

    await eventually(folded)
    assert len(await esc.escalations_of(event.ticket_id, policy_id)) == 1
    assert await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:2"]

    await esc.advance(599)
    await asyncio.sleep(0.5)
    assert (await esc.detail(opened["id"]))["level"] == 1
    await esc.advance(2)

    async def level_2() -> bool:
        return (await esc.detail(opened["id"]))["level"] == 2

    await eventually(level_2)
    await esc.advance(10_000)
    await asyncio.sleep(0.5)
    assert await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:2", f"esc:{opened['id']}:level:2:0"]
    steps = [h["step"] for h in (await esc.detail(opened["id"]))["history"]]
    assert steps.count("level_reached") == 2


async def test_acknowledged_in_time_no_level_2_and_a_second_acknowledge_is_a_409(esc: Escalations):
    policy_id, _ = await breach_policy(esc)
    event = breach()
    await esc.send(event)
    [opened] = await esc.escalations_of(event.ticket_id, policy_id)
    acked = await esc.http.post(f"/v1/escalations/{opened['id']}/acknowledge", json={"reason": "calling them"})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "bootstrap admin key"
    again = await esc.http.post(f"/v1/escalations/{opened['id']}/acknowledge", json={"reason": "me too"})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    await esc.advance(3600)
    await asyncio.sleep(1.0)
    shown = await esc.detail(opened["id"])
    assert shown["level"] == 1 and await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:2"]
    done = await esc.http.post(f"/v1/escalations/{opened['id']}/resolve", json={"reason": "refunded"})
    assert done.status_code == 200 and done.json()["resolved_reason"] == "refunded"
    assert (await esc.http.post(f"/v1/escalations/{opened['id']}/resolve", json={"reason": "x"})).status_code == 409
    listed = await esc.http.get("/v1/escalations", params={"state": "resolved", "policy_id": policy_id})
    assert [e["id"] for e in listed.json()["items"]] == [opened["id"]]
    unknown = await esc.http.get("/v1/escalations", params={"state": "sleeping"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.state"


async def test_a_customer_message_with_a_keyword_escalates(esc: Escalations):
    policy_id = unique("words")
    word = unique("chargeback").replace("-", "")
    await esc.policy(
        policy_id,
        triggers=[{"kind": "keywords", "keywords": [word, "lawyer"]}],
        levels=[{"delay_s": 0, "actions": [SLACK]}],
    )
    ticket_id = str(uuid.uuid4())
    at = datetime.now(UTC)
    await esc.send(
        MessageAdded(
            ticket_id=ticket_id, message_id="m-0", author_kind="customer", added_at=at, body_preview=f"a {word}s"
        )
    )
    await esc.send(
        MessageAdded(
            ticket_id=ticket_id,
            message_id="m-1",
            author_kind="customer",
            added_at=at,
            body_preview=f"I will file a {word.upper()}!",
        )
    )
    [opened] = await esc.escalations_of(ticket_id, policy_id)
    assert opened["trigger"] == f"keywords:{word}"
    assert await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:0"]


async def test_manual_escalation_starts_at_the_level_asked_and_folds_a_repeat(esc: Escalations):
    policy_id, _ = await breach_policy(esc)
    ticket_id = str(uuid.uuid4())
    url = f"/v1/tickets/{ticket_id}/escalations"
    created = await esc.http.post(
        url, json={"policy_id": policy_id, "reason": "customer threatens to leave", "level": 2}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["level"], body["trigger"], body["opened_reason"]) == (2, "manual", "customer threatens to leave")
    assert await esc.pages(body["id"]) == [f"esc:{body['id']}:level:2:0"]
    repeat = await esc.http.post(url, json={"policy_id": policy_id, "reason": "again"})
    assert repeat.status_code == 200 and repeat.json()["id"] == body["id"]
    bad = await esc.http.post(url, json={"policy_id": policy_id, "reason": "x", "level": 9})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "level"
    missing = await esc.http.post(url, json={"policy_id": "nope", "reason": "x"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "policy_id"
    history = (await esc.http.get(f"/v1/tickets/{ticket_id}/escalations")).json()
    assert [h["step"] for h in history[0]["history"]] == ["opened", "level_reached", "folded"]


async def test_30_concurrent_acknowledges_one_wins_the_rest_are_409(esc: Escalations):
    policy_id, _ = await breach_policy(esc)
    ticket_id = str(uuid.uuid4())
    created = await esc.http.post(f"/v1/tickets/{ticket_id}/escalations", json={"policy_id": policy_id, "reason": "x"})
    escalation_id = created.json()["id"]
    answers = await asyncio.gather(
        *(esc.http.post(f"/v1/escalations/{escalation_id}/acknowledge", json={"reason": f"r{i}"}) for i in range(30))
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 29
    steps = [h["step"] for h in (await esc.detail(escalation_id))["history"]]
    assert steps.count("acknowledged") == 1


async def test_30_concurrent_identical_breaches_open_one_escalation_and_page_once(esc: Escalations):
    policy_id, _ = await breach_policy(esc)
    event = breach()

    async def replica_handles_its_copy() -> None:
        async with esc.runtime.uow() as uow:
            await on_sla_breached(event, uow=uow, clock=esc.clock)
            await uow.commit()

    await asyncio.gather(*(replica_handles_its_copy() for _ in range(30)))
    [opened] = await esc.escalations_of(event.ticket_id, policy_id)
    assert await esc.pages(opened["id"]) == [f"esc:{opened['id']}:level:1:2"]
    steps = [h["step"] for h in (await esc.detail(opened["id"]))["history"]]
    assert steps.count("opened") == 1 and steps.count("folded") == 29


async def test_waiting_unassigned_too_long_escalates_unless_assigned_first(esc: Escalations):
    policy_id = unique("waiting")
    await esc.policy(policy_id, triggers=[{"kind": "unassigned_wait", "wait_s": 300}], levels=[{"actions": [SLACK]}])
    waits, taken = str(uuid.uuid4()), str(uuid.uuid4())
    at = datetime.now(UTC)
    for ticket_id in (waits, taken):
        await esc.send(
            TicketRouted(ticket_id=ticket_id, queue="triage", priority="normal", reason="default", routed_at=at)
        )
    await esc.send(TicketAssigned(ticket_id=taken, agent_id="bea", queue="triage", reason="free", assigned_at=at))

    async def assigned_seen() -> bool:
        async with esc.runtime.engine.connect() as c:
            found = await c.scalar(
                text("select agent_id from escalation.ticket_facts where ticket_id = :t"), {"t": taken}
            )
        return found == "bea"

    await eventually(assigned_seen)
    await esc.advance(301)
    [opened] = await esc.escalations_of(waits, policy_id)
    assert opened["trigger"] == "unassigned_wait:300s"
    await asyncio.sleep(0.5)
    listed = await esc.http.get("/v1/escalations", params={"ticket_id": taken, "policy_id": policy_id})
    assert listed.json()["items"] == []
