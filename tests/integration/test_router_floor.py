"""Routing as a support floor expects it (issue #17), on real Kafka and PostgreSQL: one service order
across queues, transfers, who owns priority, one truth about assignment, why a ticket waits.

Like test_router.py, every test has its own skill, queues and agents (`World`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FakeClock
from shared.events import topics
from tests.support.access import agent_key
from tests.support.kafka import about, eventually, read_all
from tests.support.router import World, routed, router_client, send_status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="module")
async def http(infra, clock):
    async with router_client(infra, clock=clock, gauges_interval_s=0.2) as client:
        await client.put("/v1/queues/triage", json={"required_skills": {"nobody-here": 1}})
        yield client
        for agent in (await client.get("/v1/agents")).json():
            await client.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


async def _assigned(http, ids: list[str]) -> set[str]:
    shown = [(await http.get(f"/v1/tickets/{i}")).json() for i in ids]
    return {t["ticket_id"] for t in shown if t["status"] == "assigned"}


async def test_an_agent_in_several_queues_is_served_in_one_order_across_them(http, infra):
    """Queue routing priority first, then ticket priority, then age, whatever the queues are called."""
    world = World(http)
    early = await world.queue("aaa")  # alphabetically first: it used to be served first
    late = await world.queue("zzz")
    first = await world.queue("mmm", routing_priority=-1)  # configured to come before the others
    await world.route_tag_to(early)
    await world.route_tag_to(late, tag=f"{world.tag}-z")
    await world.route_tag_to(first, tag=f"{world.tag}-m")
    solo = await world.agent("solo", capacity={"email": 0}, total_capacity=0)

    normal = [await world.ticket(infra) for _ in range(3)]
    urgent = await world.ticket(infra, tags=(f"{world.tag}-z",), priority="urgent")
    low_first = await world.ticket(infra, tags=(f"{world.tag}-m",), priority="low")
    expected = [low_first, urgent, *normal]
    ids = [t.ticket_id for t in expected]
    for t in expected:
        await routed(http, t.ticket_id, status="waiting")

    for slots in range(1, len(expected) + 1):  # a stream of capacity changes, one slot at a time
        body = {"name": "solo", "skills": {world.skill: 3}, "capacity": {"email": slots}, "total_capacity": slots}
        assert (await http.put(f"/v1/agents/{solo}", json=body)).status_code == 200
        await routed(http, expected[slots - 1].ticket_id, status="assigned", agent=solo)
        assert await _assigned(http, ids) == set(ids[:slots]), f"after {slots} slots"


async def test_a_transfer_is_not_sent_straight_back_unless_asked_and_an_unknown_queue_is_refused(http, infra):
    world = World(http)
    home, other = await world.queue("home"), await world.queue("other")
    await world.route_tag_to(home)
    ada = await world.agent("ada")
    ticket = await world.ticket(infra)
    await routed(http, ticket.ticket_id, status="assigned", agent=ada)
    keys = {ada: await agent_key(http, ada)}
    url = f"/v1/tickets/{ticket.ticket_id}/transfer"

    unknown = await http.post(url, json={"queue": "no-such-queue"}, headers=keys[ada])
    assert unknown.status_code == 422, unknown.text
    assert [e["field"] for e in unknown.json()["errors"]] == ["queue"]
    assert (await http.get(f"/v1/tickets/{ticket.ticket_id}")).json()["agent_id"] == ada, "nothing changed"

    moved = await http.post(url, json={"queue": other}, headers=keys[ada])
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["agent_id"]) == ("waiting", None), "ada is the only one, not again"
    history = (await http.get(f"/v1/tickets/{ticket.ticket_id}/routing")).json()
    assert f"not back to {ada}" in [h for h in history if h["kind"] == "transfer"][-1]["reason"]

    bob = await world.agent("bob")
    await routed(http, ticket.ticket_id, status="assigned", agent=bob, queue=other)
    keys[bob] = await agent_key(http, bob)
    back = await http.post(url, json={"queue": home, "allow_same_agent": True}, headers=keys[bob])
    assert back.status_code == 200, back.text
    again = await routed(http, ticket.ticket_id, queue=home, status="assigned")
    assert again["agent_id"] == bob, "asked for: affinity gives it back to bob"


async def test_a_rule_raises_priority_but_never_lowers_an_explicit_one_and_says_so(http, infra):
    world = World(http)
    queue = await world.queue("prio")
    await world.route_tag_to(queue, priority="high")
    urgent = await world.ticket(infra, priority="urgent")  # a manager's PATCH, or an urgent Zendesk ticket
    normal = await world.ticket(infra, priority="normal")
    assert (await routed(http, urgent.ticket_id, status="waiting"))["priority"] == "urgent"
    assert (await routed(http, normal.ticket_id, status="waiting"))["priority"] == "high"

    route = (await http.get(f"/v1/tickets/{normal.ticket_id}/routing")).json()[0]
    assert route["priority_change"] == {"from": "normal", "to": "high", "by": f"rule:r-{world.tag}"}
    assert (await http.get(f"/v1/tickets/{urgent.ticket_id}/routing")).json()[0]["priority_change"] is None
    records = await read_all(
        infra.bootstrap_servers,
        topics.ROUTING,
        until=lambda rs: any(e.type == "switchboard.ticket.priority_raised" for e in about(rs, normal.ticket_id)),
    )
    raised = [e.data for e in about(records, normal.ticket_id) if e.type == "switchboard.ticket.priority_raised"]
    assert [(r["old_priority"], r["new_priority"], r["by"]) for r in raised] == [
        ("normal", "high", f"rule:r-{world.tag}")
    ]
    assert not [e for e in about(records, urgent.ticket_id) if e.type == "switchboard.ticket.priority_raised"]


HOLDING = ("switchboard.ticket.assigned", "switchboard.ticket.offered")
UNASSIGNED = "switchboard.ticket.unassigned"


async def _holder_by_events(infra, ticket_id: str, causes: list[str]) -> tuple[str | None, list[str]]:
    """Fold the router's events for one ticket: who holds it, as a consumer like ingest would see it."""
    records = await read_all(
        infra.bootstrap_servers,
        topics.ROUTING,
        until=lambda rs: (
            [e.data.get("cause") for e in about(rs, ticket_id) if e.type == UNASSIGNED][-len(causes) :] == causes
        ),
    )
    holder, seen = None, []
    for event in about(records, ticket_id):
        if event.type in HOLDING:
            holder = event.data["agent_id"]
        elif event.type == UNASSIGNED:
            assert event.data["agent_id"] == holder or holder is None, "only the holder is unassigned"
            holder = None
            seen.append(event.data["cause"])
    return holder, seen


@pytest.mark.parametrize("path", ["reopen", "transfer", "offline hand-back", "offer lapse"])
async def test_the_routers_events_say_who_holds_the_ticket(http, infra, path):
    world = World(http)
    offer_mode = path == "offer lapse"
    queue = await world.queue("held", offer_mode=offer_mode)
    other = await world.queue("elsewhere")
    await world.route_tag_to(queue)
    ada = await world.agent("ada")
    channel = "chat" if path == "offline hand-back" else "email"
    ticket = await world.ticket(infra, channel=channel)
    await routed(http, ticket.ticket_id, status="offered" if offer_mode else "assigned", agent=ada)

    if path == "reopen":
        await send_status(infra, ticket.ticket_id, "open", "solved")
        await routed(http, ticket.ticket_id, status="done")
        await http.put(f"/v1/agents/{ada}/status", json={"status": "offline"})
        await send_status(infra, ticket.ticket_id, "solved", "open")
        causes = ["solved", "reopened"]
    elif path == "transfer":
        moved = await http.post(f"/v1/tickets/{ticket.ticket_id}/transfer", json={"queue": other})
        assert moved.status_code == 200, moved.text
        causes = ["transferred"]
    elif path == "offline hand-back":
        await http.put(f"/v1/agents/{ada}/status", json={"status": "offline"})
        causes = ["agent_offline"]
    else:
        before = (await http.get(f"/v1/tickets/{ticket.ticket_id}")).json()["waiting_since"]
        await http.put(f"/v1/agents/{ada}/status", json={"status": "away"})
        causes = ["agent_offline"]

    shown = await routed(http, ticket.ticket_id, status="waiting")
    holder, seen = await _holder_by_events(infra, ticket.ticket_id, causes)
    assert shown["agent_id"] is None and holder is None, f"{path}: the events say {holder} holds it"
    assert seen[-len(causes) :] == causes
    if path == "offer lapse":
        assert shown["waiting_since"] == before, "one path with a timeout: the wait clock runs on"
        history = (await http.get(f"/v1/tickets/{ticket.ticket_id}/routing")).json()
        assert any(h["kind"] == "requeue" and h["reason"] == f"offer to {ada} agent_offline" for h in history)


async def test_a_waiting_tickets_record_says_who_was_considered_and_what_excluded_them(http, infra):
    world = World(http)
    billing = await world.queue("billing", required_skills={world.skill: 3})
    await world.route_tag_to(billing)
    off = await world.agent("off", status="offline")
    novice = await world.agent("novice", level=1)
    full = await world.agent("full", capacity={"email": 1}, total_capacity=8)
    first = await world.ticket(infra)
    await routed(http, first.ticket_id, status="assigned", agent=full)

    second = await world.ticket(infra)
    await routed(http, second.ticket_id, status="waiting")
    history = (await http.get(f"/v1/tickets/{second.ticket_id}/routing")).json()
    wait = [h for h in history if h["kind"] == "wait"][-1]
    assert wait["requirements"]["skills"] == {world.skill: 3}
    excluded = {c["agent_id"]: c["excluded"] for c in wait["candidates"]}
    assert excluded[full] == ["email full 1/1"], "those who fit the ticket are named first"
    assert excluded[off] == ["status offline"]
    assert excluded.get(novice, [f"skill {world.skill} 1 < 3"]) == [f"skill {world.skill} 1 < 3"]
    counts = wait["excluded_counts"]
    assert counts["email full"] >= 1 and counts["status offline"] >= 1 and counts[f"skill {world.skill}"] >= 1


async def test_the_overview_and_metrics_show_per_channel_saturation(http, infra, clock):
    world = World(http)
    queue = await world.queue("mail")
    await world.route_tag_to(queue)
    ada = await world.agent("ada", capacity={"email": 1, "chat": 2}, total_capacity=8)
    first, second = await world.ticket(infra), await world.ticket(infra)
    await routed(http, first.ticket_id, status="assigned", agent=ada)
    await routed(http, second.ticket_id, status="waiting")

    line = next(a for a in (await http.get("/v1/overview")).json()["agents"] if a["id"] == ada)
    assert (line["load"], line["capacity"]) == (1, 8)
    assert line["channels"]["email"] == {"load": 1, "capacity": 1, "full": True}
    assert line["full_channels"] == ["email"]

    clock.advance(timedelta(seconds=30))

    def value(text: str, series: str) -> float | None:
        return next((float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(series + " ")), None)

    last: list[str] = []

    async def scraped() -> str | None:
        text = (await http.get("/metrics")).text
        last[:] = [ln for ln in text.splitlines() if ln.startswith("switchboard_router")]
        oldest = value(text, f'switchboard_router_queue_oldest_wait_seconds{{queue="{queue}"}}')
        return text if oldest is not None and oldest >= 30 else None  # refreshed since the clock moved

    text = await eventually(scraped, timeout=10)
    assert isinstance(text, str), last
    assert value(text, f'switchboard_router_queue_waiting{{queue="{queue}"}}') == 1.0
    assert 'switchboard_router_agents{status="online"}' in text
    assert 'switchboard_router_free_capacity{channel="chat"}' in text


async def test_small_ones_rule_id_from_the_path_unknown_queue_stats_and_who_reads_rules(http, infra):
    world = World(http)
    queue = await world.queue("small")
    rule = {"conditions": {"tags_any": [world.tag]}, "actions": {"queue": queue}}
    saved = await http.put(f"/v1/rules/r-{world.tag}", json=rule)
    assert saved.status_code == 200, saved.text
    assert f"r-{world.tag}" in [r["id"] for r in saved.json()["rules"]], "the id is the path's"
    mismatch = await http.put(f"/v1/rules/r-{world.tag}", json={**rule, "id": "another"})
    assert mismatch.status_code == 422 and [e["field"] for e in mismatch.json()["errors"]] == ["id"]

    stats = await http.get("/v1/queues/no-such-queue/stats")
    assert stats.status_code == 404 and stats.headers["content-type"] == "application/problem+json"
    assert (await http.get(f"/v1/queues/{queue}/stats")).status_code == 200

    ada = await world.agent("ada")
    assert (await http.get("/v1/rules", headers=await agent_key(http, ada))).status_code == 200, (
        "agents read the rules: their tickets' routing records name them"
    )


async def test_old_decision_records_and_assignment_log_rows_are_purged_in_batches(http, clock):
    from services.router.adapters.repository import RoutingRepository
    from services.router.handlers.retention import purge_history
    from tests.support.access import _app_of

    runtime = _app_of(http).state.runtime
    now = clock.now()
    ticket_id = f"old-{uuid.uuid4()}"
    async with runtime.uow() as uow:
        repo = RoutingRepository(uow.session)
        for days in (100, 95, 91, 10):
            at = now - timedelta(days=days)
            await repo.record_decision(ticket_id, "route", {"days": days}, at)
            await repo.log_assignment(ticket_id, "ada", "q", at)
        await uow.commit()

    assert await purge_history(runtime, now, days=90, batch=2) >= 6
    async with runtime.uow() as uow:
        kept = [r["record"]["days"] for r in await RoutingRepository(uow.session).decisions_of(ticket_id)]
    assert kept == [10]
    assert await purge_history(runtime, now, days=0) == 0, "0 keeps history for good"
