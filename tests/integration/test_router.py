"""The router on real Kafka and PostgreSQL: rules, eligibility, capacity, offers, overflow, affinity, audit.

Every test uses its own skill (and queues) so agents of one test can never take another's
tickets; the shared `triage` queue is made to need a skill nobody here has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.clock import FakeClock
from shared.events import topics
from shared.events.escalation import EscalationRequested
from tests.support.events import envelope_of
from tests.support.kafka import about, eventually, produce, read_all
from tests.support.router import World, routed, router_client, send_status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="module")
async def http(infra, clock):
    async with router_client(infra, clock=clock) as client:
        await client.put("/v1/queues/triage", json={"required_skills": {"nobody-here": 1}})
        yield client
        for agent in (await client.get("/v1/agents")).json():
            await client.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


async def test_a_ticket_is_routed_by_rule_and_assigned_to_the_least_loaded_eligible_agent(http, infra):
    world = World(http)
    queue = await world.queue("billing", required_skills={world.skill: 2})
    await world.route_tag_to(queue)
    busy = await world.agent("busy", capacity={"email": 5}, total_capacity=5)
    novice = await world.agent("novice", level=1)
    away = await world.agent("away", status="away")
    free = await world.agent("free", capacity={"email": 5}, total_capacity=5)

    first = await world.ticket(infra)
    view = await routed(http, first.ticket_id, status="assigned")
    assert view["queue"] == queue and view["rule_id"] == f"r-{world.skill}"
    second = await world.ticket(infra)
    second_view = await routed(http, second.ticket_id, status="assigned")
    assert {view["agent_id"], second_view["agent_id"]} == {busy, free}, "least loaded: one each"

    history = (await http.get(f"/v1/tickets/{second.ticket_id}/routing")).json()
    assert [h["kind"] for h in history] == ["route", "assign"]
    assign = history[1]
    by_agent = {c["agent_id"]: c for c in assign["candidates"]}
    assert any("skill" in reason for reason in by_agent[novice]["excluded"])
    assert away not in by_agent, "an assignment considers the agents online with room on the channel"
    assert by_agent[second_view["agent_id"]]["score"] and assign["reason"]
    assert history[0]["rule_trace"][0] == {"rule_id": f"r-{world.skill}", "matched": True, "failed": None}

    records = await read_all(
        infra.bootstrap_servers, topics.ROUTING, until=lambda rs: len(about(rs, second.ticket_id)) >= 4
    )
    types = [e.type for e in about(records, second.ticket_id)]
    assert types == [
        "switchboard.ticket.routed",
        "switchboard.routing.decision_recorded",
        "switchboard.ticket.assigned",
        "switchboard.routing.decision_recorded",
    ]


async def test_a_waiting_ticket_is_assigned_the_moment_capacity_appears(http, infra):
    world = World(http)
    queue = await world.queue("support")
    await world.route_tag_to(queue)
    first, second = await world.ticket(infra), await world.ticket(infra)
    await routed(http, first.ticket_id, status="waiting")
    await routed(http, second.ticket_id, status="waiting")

    solo = await world.agent("solo", capacity={"email": 1}, total_capacity=1)
    assigned = await routed(http, first.ticket_id, status="assigned", agent=solo)
    assert assigned["queue"] == queue, "the older ticket is served first"
    assert (await http.get(f"/v1/tickets/{second.ticket_id}")).json()["status"] == "waiting", "capacity 1 is respected"
    position = (await http.get(f"/v1/queues/{queue}/waiting")).json()
    assert [(t["ticket_id"], t["position"]) for t in position] == [(second.ticket_id, 1)]

    await send_status(infra, first.ticket_id, "open", "solved")
    await routed(http, second.ticket_id, status="assigned", agent=solo)
    await routed(http, first.ticket_id, status="done")

    # raising capacity lets the next one through at once
    third = await world.ticket(infra, priority="urgent")
    await routed(http, third.ticket_id, status="waiting")
    await http.put(
        f"/v1/agents/{solo}",
        json={"name": "solo", "skills": {world.skill: 3}, "capacity": {"email": 2}, "total_capacity": 2},
    )
    await routed(http, third.ticket_id, status="assigned", agent=solo)


async def test_offers_move_on_when_declined_or_ignored(http, infra, clock):
    world = World(http)
    queue = await world.queue("sales", offer_mode=True, offer_timeout_s=60, strategy="round_robin")
    await world.route_tag_to(queue)
    ann, bob = await world.agent("ann"), await world.agent("bob")
    keys = {a: await issue_key_for(http, a) for a in (ann, bob)}

    ticket = await world.ticket(infra)
    offered = await routed(http, ticket.ticket_id, status="offered")
    first_agent = offered["agent_id"]
    other = bob if first_agent == ann else ann
    declined = await http.post(f"/v1/offers/{ticket.ticket_id}/decline", headers=keys[first_agent])
    assert declined.status_code == 200, declined.text
    await routed(http, ticket.ticket_id, status="offered", agent=other)
    assert (await http.post(f"/v1/offers/{ticket.ticket_id}/accept", headers=keys[first_agent])).status_code == 409

    clock.advance(timedelta(seconds=61))
    lapsed = await routed(http, ticket.ticket_id, status="waiting")
    assert lapsed["agent_id"] is None, "both declined or timed out: nobody is asked twice"

    second = await world.ticket(infra)
    offer = await routed(http, second.ticket_id, status="offered")
    accepted = await http.post(f"/v1/offers/{second.ticket_id}/accept", headers=keys[offer["agent_id"]])
    assert accepted.status_code == 200 and accepted.json()["status"] == "assigned"
    mine = (await http.get("/v1/agents/me/tickets", headers=keys[offer["agent_id"]])).json()
    assert [t["ticket_id"] for t in mine] == [second.ticket_id]

    records = await read_all(
        infra.bootstrap_servers,
        topics.ROUTING,
        until=lambda rs: any(
            e.type == "switchboard.ticket.offer_declined" and e.data["reason"] == "timeout"
            for e in about(rs, ticket.ticket_id)
        ),
    )
    reasons = [
        e.data["reason"] for e in about(records, ticket.ticket_id) if e.type == "switchboard.ticket.offer_declined"
    ]
    assert reasons == ["declined", "timeout"]


async def issue_key_for(http: httpx.AsyncClient, agent_id: str) -> dict[str, str]:
    """Keys are issued by ingest; the router learns them as events, so we issue the event's effect directly."""
    from tests.support.access import agent_key

    return await agent_key(http, agent_id)


async def test_past_the_wait_limit_a_ticket_overflows_or_widens(http, infra, clock):
    world = World(http)
    general = await world.queue("general", required_skills={})
    specialist = await world.queue(
        "specialist", required_skills={world.skill: 9}, wait_limit_s=300, overflow_queue=general
    )
    widening = await world.queue(
        "widening", required_skills={world.skill: 9}, wait_limit_s=300, widen_skills_after_wait=True
    )
    await world.route_tag_to(specialist)
    await world.agent("junior", level=1)

    moved = await world.ticket(infra)
    await routed(http, moved.ticket_id, status="waiting", queue=specialist)
    clock.advance(timedelta(seconds=301))
    await routed(http, moved.ticket_id, status="assigned", queue=general)

    await world.route_tag_to(widening)
    widened = await world.ticket(infra)
    await routed(http, widened.ticket_id, status="waiting", queue=widening)
    clock.advance(timedelta(seconds=301))
    await routed(http, widened.ticket_id, status="assigned", queue=widening)
    kinds = [h["kind"] for h in (await http.get(f"/v1/tickets/{widened.ticket_id}/routing")).json()]
    assert kinds == ["route", "wait", "overflow", "assign"], "the wait record says why it waited"


async def test_offline_agents_return_chats_but_keep_emails_and_reopened_tickets_prefer_them(http, infra):
    world = World(http)
    queue = await world.queue("mixed")
    await world.route_tag_to(queue)
    cy = await world.agent("cy", capacity={"email": 2, "chat": 2}, total_capacity=4)
    chat = await world.ticket(infra, channel="chat")
    email = await world.ticket(infra)
    await routed(http, chat.ticket_id, status="assigned", agent=cy)
    await routed(http, email.ticket_id, status="assigned", agent=cy)

    assert (await http.put(f"/v1/agents/{cy}/status", json={"status": "offline"})).status_code == 200
    assert (await http.get(f"/v1/tickets/{chat.ticket_id}")).json()["status"] == "waiting"
    assert (await http.get(f"/v1/tickets/{email.ticket_id}")).json()["agent_id"] == cy

    await send_status(infra, email.ticket_id, "open", "solved")
    await routed(http, email.ticket_id, status="done")
    dee = await world.agent("dee")
    await routed(http, chat.ticket_id, status="assigned", agent=dee)
    await http.put(f"/v1/agents/{cy}/status", json={"status": "online"})
    await send_status(infra, email.ticket_id, "solved", "open")
    await routed(http, email.ticket_id, status="assigned", agent=cy)
    last = (await http.get(f"/v1/tickets/{email.ticket_id}/routing")).json()[-1]
    assert "affinity" in last["reason"]


async def test_transfers_and_escalations_move_tickets(http, infra):
    world = World(http)
    tier1, tier2 = await world.queue("tier1"), await world.queue("tier2")
    await world.route_tag_to(tier1)
    eve = await world.agent("eve")
    ticket = await world.ticket(infra)
    await routed(http, ticket.ticket_id, status="assigned", agent=eve)
    fay = await world.agent("fay")

    moved = await http.post(f"/v1/tickets/{ticket.ticket_id}/transfer", json={"agent_id": fay})
    assert moved.status_code == 200 and moved.json()["agent_id"] == fay
    both = await http.post(f"/v1/tickets/{ticket.ticket_id}/transfer", json={"agent_id": fay, "queue": tier2})
    assert both.status_code == 422

    escalation = EscalationRequested(
        ticket_id=ticket.ticket_id,
        to_queue=tier2,
        priority="urgent",
        reason="SLA breach",
        requested_at=datetime.now(UTC),
    )
    await produce(
        infra.bootstrap_servers,
        topics.ESCALATIONS,
        envelope_of(escalation, source="/switchboard/escalation").to_bytes(),
        key=ticket.ticket_id,
    )
    view = await routed(http, ticket.ticket_id, queue=tier2)
    assert view["priority"] == "urgent"
    records = await read_all(
        infra.bootstrap_servers,
        topics.ROUTING,
        until=lambda rs: any(e.type == "switchboard.ticket.queue_changed" for e in about(rs, ticket.ticket_id)),
    )
    unassigned = [e for e in about(records, ticket.ticket_id) if e.type == "switchboard.ticket.unassigned"]
    assert [e.data["agent_id"] for e in unassigned] == [eve, fay]


async def escalate(infra, ticket_id: str, **fields) -> None:
    request = EscalationRequested(ticket_id=ticket_id, reason="SLA breach", requested_at=datetime.now(UTC), **fields)
    body = envelope_of(request, source="/switchboard/escalation").to_bytes()
    await produce(infra.bootstrap_servers, topics.ESCALATIONS, body, key=ticket_id)


async def test_an_escalation_naming_an_agent_gives_them_the_ticket_only_when_they_have_room(http, infra):
    world = World(http)
    tier1 = await world.queue("tier1", required_skills={f"{world.skill}-t1": 1})
    tier2 = await world.queue("tier2", strategy="least_loaded")
    await world.route_tag_to(tier1)
    eve = await world.agent("eve", skills={f"{world.skill}-t1": 1})
    fay = await world.agent("fay")  # tier 2's own choice: the queue's skill, nothing on her plate
    # no skill at all, room for one email: the strategy would never pick her, the escalation does
    senior = await world.agent("senior", skills={}, capacity={"email": 1}, total_capacity=1)
    ghost = await world.agent("ghost", status="offline")

    first = await world.ticket(infra)
    await routed(http, first.ticket_id, status="assigned", agent=eve)
    await escalate(infra, first.ticket_id, to_queue=tier2, priority="urgent", agent_id=senior)
    view = await routed(http, first.ticket_id, status="assigned", agent=senior)
    assert view["queue"] == tier2 and view["priority"] == "urgent"
    last = (await http.get(f"/v1/tickets/{first.ticket_id}/routing")).json()[-1]
    assert last["kind"] == "assign" and last["agent_id"] == senior
    assert f"escalation asked for {senior}: online with room" in last["reason"]
    assert "least_loaded not applied" in last["reason"]
    assert [c["agent_id"] for c in last["candidates"]] == [senior] and not last["candidates"][0]["excluded"]

    # the named agent is offline: the ticket waits in tier 2 as usual (and the strategy picks fay)
    second = await world.ticket(infra)
    await routed(http, second.ticket_id, status="assigned", agent=eve)
    await escalate(infra, second.ticket_id, to_queue=tier2, agent_id=ghost)
    await routed(http, second.ticket_id, status="assigned", agent=fay, queue=tier2)
    history = (await http.get(f"/v1/tickets/{second.ticket_id}/routing")).json()
    (why,) = [h for h in history if ghost in h["reason"]]
    assert why["kind"] == "wait" and why["agent_id"] is None
    assert f"escalation asked for {ghost}, who cannot take it now (status offline)" in why["reason"]
    assert history[-1]["kind"] == "assign" and history[-1]["agent_id"] == fay

    # the named agent is full: the ticket stays with the agent who holds it, never over capacity
    third = await world.ticket(infra)
    await routed(http, third.ticket_id, status="assigned", agent=eve)
    await escalate(infra, third.ticket_id, priority="high", agent_id=senior)

    async def said_no() -> list[dict]:
        history = (await http.get(f"/v1/tickets/{third.ticket_id}/routing")).json()
        return [h for h in history if senior in h["reason"]]

    (refusal,) = await eventually(said_no)
    assert refusal["kind"] == "route" and refusal["agent_id"] == eve
    assert "email full 1/1" in refusal["reason"] and f"it stays with {eve}" in refusal["reason"]
    view = (await http.get(f"/v1/tickets/{third.ticket_id}")).json()
    assert view["agent_id"] == eve and view["priority"] == "high"
    assert (await http.get(f"/v1/agents/{senior}")).json()["total_load"] == 1

    # a ticket held by another agent is taken from them once the named agent has room
    await send_status(infra, first.ticket_id, "open", "solved")
    await routed(http, first.ticket_id, status="done")
    await escalate(infra, third.ticket_id, agent_id=senior)
    await routed(http, third.ticket_id, status="assigned", agent=senior)
    records = await read_all(
        infra.bootstrap_servers,
        topics.ROUTING,
        until=lambda rs: sum(e.type == "switchboard.ticket.assigned" for e in about(rs, third.ticket_id)) >= 2,
    )
    lost = [e.data for e in about(records, third.ticket_id) if e.type == "switchboard.ticket.unassigned"]
    assert [(e["agent_id"], e["cause"]) for e in lost] == [(eve, "escalated")]


async def test_rules_are_validated_versioned_and_can_be_dry_run(http):
    world = World(http)
    queue = await world.queue("refunds")
    before = (await http.get("/v1/rules")).json()
    bad = await http.put(
        "/v1/rules",
        json={
            "rules": [
                {"id": "x", "conditions": {"tags_any": []}, "actions": {"queue": "no-such-queue"}},
                {"id": "x", "conditions": {"channel": ["email"]}, "actions": {"queue": queue}},
            ],
            "default": before["default"],
        },
    )
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert "no-such-queue" in detail and "already used" in detail and "tags_any is empty" in detail
    assert (await http.get("/v1/rules")).json()["version"] == before["version"], "nothing saved"

    draft = {
        "rules": [
            {"id": "vip", "conditions": {"vip": True}, "actions": {"queue": queue, "priority": "high"}},
            {"id": "refund-words", "conditions": {"keywords": ["refund", "chargeback"]}, "actions": {"queue": queue}},
        ],
        "default": before["default"],
    }
    tried = await http.post(
        "/v1/rules:test", json={"ticket": {"subject": "Please refund me", "vip": False}, "ruleset": draft}
    )
    assert tried.status_code == 200, tried.text
    result = tried.json()
    assert result["rule_id"] == "refund-words" and result["actions"]["queue"] == queue
    assert result["trace"][0]["matched"] is False and "VIP" in result["trace"][0]["failed"]
    versions = (await http.get("/v1/rules/versions")).json()
    assert versions[0]["version"] == before["version"]


async def test_queue_stats_report_fairness(http, infra):
    world = World(http)
    queue = await world.queue("fair", fairness_max_per_window=1, fairness_window_s=3600)
    await world.route_tag_to(queue)
    gil, hal = await world.agent("gil"), await world.agent("hal")
    tickets = [await world.ticket(infra) for _ in range(3)]
    for t in tickets[:2]:
        await routed(http, t.ticket_id, status="assigned")
    await routed(http, tickets[2].ticket_id, status="waiting")
    stats = (await http.get(f"/v1/queues/{queue}/stats")).json()
    assert stats["assignments_by_agent"] == {gil: 1, hal: 1} and stats["distribution_skew"] == 0.0
    assert stats["waiting"] == 1


async def test_a_workflow_waits_for_specialists_then_widens_to_the_general_pool(http, infra, clock):
    world = World(http)
    queue = await world.queue(
        "wf",
        workflow=[
            # a step's skills replace the queue's, so each names this test's skill (other tests' agents stay out)
            {"name": "specialists", "team": f"l2-{world.skill}", "skills": {world.skill: 1}, "timeout_s": 300},
            {"name": "everyone", "skills": {world.skill: 1}, "priority": "high", "timeout_s": 600},
        ],
    )
    await world.route_tag_to(queue)
    generalist = await world.agent("generalist", team="l1")
    ticket = await world.ticket(infra)
    waiting = await routed(http, ticket.ticket_id, status="waiting")
    assert waiting["priority"] == "normal", "the specialists' step: the generalist may not take it"

    clock.advance(timedelta(seconds=301))
    assigned = await routed(http, ticket.ticket_id, status="assigned", agent=generalist)
    assert assigned["priority"] == "high", "the second step raised the priority"
    steps = [
        h["requirements"].get("step")
        for h in (await http.get(f"/v1/tickets/{ticket.ticket_id}/routing")).json()
        if h["kind"] == "assign"
    ]
    assert steps == ["everyone"]

    specialist = await world.agent("specialist", team=f"l2-{world.skill}")
    second = await world.ticket(infra)
    await routed(http, second.ticket_id, status="assigned", agent=specialist)


async def test_single_rules_are_added_moved_replaced_and_deleted_each_as_a_new_version(http):
    world = World(http)
    queue = await world.queue("single")
    start = (await http.get("/v1/rules")).json()
    rule = {"id": f"one-{world.skill}", "conditions": {"tags_any": [world.tag]}, "actions": {"queue": queue}}
    added = await http.put(f"/v1/rules/{rule['id']}", json=rule, params={"position": 0})
    assert added.status_code == 200, added.text
    assert added.json()["rules"][0]["id"] == rule["id"] and added.json()["version"] == start["version"] + 1

    replaced = await http.put(f"/v1/rules/{rule['id']}", json={**rule, "actions": {"queue": queue, "priority": "high"}})
    assert replaced.json()["rules"][0]["actions"]["priority"] == "high", "replaced in place"
    mismatched = await http.put(f"/v1/rules/{rule['id']}", json={**rule, "id": "other"})
    assert mismatched.status_code == 422
    invalid = await http.put(f"/v1/rules/{rule['id']}", json={**rule, "actions": {"queue": "nowhere"}})
    assert invalid.status_code == 422 and "nowhere" in invalid.json()["detail"]

    deleted = await http.delete(f"/v1/rules/{rule['id']}")
    assert deleted.status_code == 200 and rule["id"] not in [r["id"] for r in deleted.json()["rules"]]
    assert (await http.delete(f"/v1/rules/{rule['id']}")).status_code == 404


async def test_the_overview_shows_queue_health_and_agent_load(http, infra):
    world = World(http)
    queue = await world.queue("glance")
    await world.route_tag_to(queue)
    ivy = await world.agent("ivy", capacity={"email": 1}, total_capacity=1)
    first, second = await world.ticket(infra), await world.ticket(infra)
    await routed(http, first.ticket_id, status="assigned", agent=ivy)
    await routed(http, second.ticket_id, status="waiting")
    glance = (await http.get("/v1/overview")).json()
    assert glance["queues"][queue]["waiting"] == 1 and glance["queues"][queue]["oldest_wait_seconds"] >= 0
    (me,) = [a for a in glance["agents"] if a["id"] == ivy]
    assert (me["status"], me["load"], me["capacity"]) == ("online", 1, 1)
    assert glance["online_load"] <= glance["online_capacity"]


async def test_a_queue_or_agent_still_in_use_cannot_be_deleted(http, infra):
    world = World(http)
    routed_to = await world.queue("in-use")
    spare = await world.queue("spare")
    await world.route_tag_to(routed_to)
    kim = await world.agent("kim", capacity={"email": 1}, total_capacity=1)
    first, second = await world.ticket(infra), await world.ticket(infra)
    await routed(http, first.ticket_id, status="assigned", agent=kim)
    await routed(http, second.ticket_id, status="waiting")

    waiting_in = await http.delete(f"/v1/queues/{routed_to}")
    assert waiting_in.status_code == 409 and "waiting" in waiting_in.text
    held = await http.delete(f"/v1/agents/{kim}")
    assert held.status_code == 409 and "still holds tickets" in held.text

    await http.post(f"/v1/tickets/{second.ticket_id}/transfer", json={"queue": spare})
    await http.put(f"/v1/queues/{spare}", json={"required_skills": {"nobody-here": 1}})  # so it just waits there
    ruled = await http.delete(f"/v1/queues/{routed_to}")
    assert ruled.status_code == 409 and "routing rules send tickets" in ruled.text

    await send_status(infra, first.ticket_id, "open", "solved")
    await routed(http, first.ticket_id, status="done")
    assert (await http.delete(f"/v1/agents/{kim}")).status_code == 204
    assert (await http.delete(f"/v1/agents/{kim}")).status_code == 404
    assert (await http.delete(f"/v1/queues/no-such-{world.skill}")).status_code == 404
