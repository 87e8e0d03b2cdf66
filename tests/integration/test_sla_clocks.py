"""A ticket's SLA from its events on Kafka: applied, shown, warned then breached exactly once when the
FakeClock passes those instants, met by a public agent reply in time, paused while pending, the same
whatever the delivery order or duplicates, and re-pinned by an explicit apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FakeClock
from tests.support.sla import (
    has,
    kinds,
    policy_for_brand,
    received,
    reply,
    send,
    sla_client,
    sla_events,
    status,
    ticket_sla,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("sla_from_now")]


def _clock() -> FakeClock:
    # the wall clock's second, so tickets of other tests this consumer sees are not in its future
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def _metric(sla: dict, metric: str) -> dict:
    return next(c for c in sla["clocks"] if c["metric"] == metric)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_new_ticket_gets_its_policy_applied_and_shows_its_clocks(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600, resolution_s=8 * 3600)
        ticket = received(t0, brand)
        await send(infra, ticket)
        (applied,) = await sla_events(infra, ticket.ticket_id, has("applied"))
        assert applied.data["policy_id"] == f"p-{brand}"
        targets = {t["metric"]: t for t in applied.data["targets"]}
        assert _at(targets["first_reply"]["due_at"]) == t0 + timedelta(hours=1)
        clock.advance(timedelta(minutes=20))
        sla = await ticket_sla(http, ticket.ticket_id)
        assert sla["policy_id"] == f"p-{brand}" and sla["config_version"] == applied.data["config_version"]
        first = _metric(sla, "first_reply")
        assert first["state"] == "running" and first["target_s"] == 3600
        assert _at(first["due_at"]) == t0 + timedelta(hours=1)
        assert first["calendar_elapsed_s"] == 1200 and first["remaining_s"] == 2400
        assert _metric(sla, "resolution")["state"] == "running"
        assert (await http.get("/v1/tickets/never-seen/sla")).status_code == 404


async def test_passing_the_warning_point_and_the_due_instant_announces_each_exactly_once(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600, warn_percent=80)
        ticket = received(t0, brand)
        await send(infra, ticket)
        await sla_events(infra, ticket.ticket_id, has("applied"))
        clock.advance(timedelta(minutes=49))
        warned = await sla_events(infra, ticket.ticket_id, has("warning"), settle=1)
        assert "breached" not in kinds(warned)
        clock.advance(timedelta(minutes=12))
        events = await sla_events(infra, ticket.ticket_id, has("breached"), settle=3)
        assert sorted(kinds(events)) == ["applied", "breached", "warning"]
        warning = next(e for e in events if e.type.endswith("warning"))
        breach = next(e for e in events if e.type.endswith("breached"))
        assert _at(warning.data["warned_at"]) == t0 + timedelta(minutes=48)
        assert warning.data["metric"] == "first_reply" and warning.data["business_elapsed_s"] == 48 * 60
        assert _at(breach.data["breached_at"]) == t0 + timedelta(hours=1)
        assert _metric(await ticket_sla(http, ticket.ticket_id), "first_reply")["state"] == "breached"


async def test_a_public_agent_reply_in_time_meets_the_target_and_nothing_breaches(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600)
        ticket = received(t0, brand)
        await send(infra, ticket)
        await sla_events(infra, ticket.ticket_id, has("applied"))
        await send(infra, reply(ticket.ticket_id, t0 + timedelta(minutes=5), author="customer"))
        await send(infra, reply(ticket.ticket_id, t0 + timedelta(minutes=8), public=False))
        clock.advance(timedelta(minutes=10))
        await send(infra, reply(ticket.ticket_id, t0 + timedelta(minutes=10)))
        events = await sla_events(infra, ticket.ticket_id, has("met"))
        met = next(e for e in events if e.type.endswith("met"))
        assert _at(met.data["met_at"]) == t0 + timedelta(minutes=10)
        clock.advance(timedelta(hours=2))
        later = await sla_events(infra, ticket.ticket_id, has("met"), settle=3)
        assert sorted(kinds(later)) == ["applied", "met"]
        assert _metric(await ticket_sla(http, ticket.ticket_id), "first_reply")["state"] == "met"


async def test_pending_pauses_the_clock_and_reopening_resumes_it(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600, warn_percent=None)
        ticket = received(t0, brand)
        await send(infra, ticket)
        await sla_events(infra, ticket.ticket_id, has("applied"))
        clock.advance(timedelta(minutes=10))
        await send(infra, status(ticket.ticket_id, "new", "pending", clock.now()))
        paused = await sla_events(infra, ticket.ticket_id, has("paused"))
        assert next(e for e in paused if e.type.endswith("paused")).data["reason"] == "pending"
        first = _metric(await ticket_sla(http, ticket.ticket_id), "first_reply")
        assert first["state"] == "paused" and first["due_at"] is None
        clock.advance(timedelta(hours=2))
        still = await sla_events(infra, ticket.ticket_id, has("paused"), settle=2)
        assert "breached" not in kinds(still)
        resumed_at = clock.now()
        await send(infra, status(ticket.ticket_id, "pending", "open", resumed_at))
        resumed = await sla_events(infra, ticket.ticket_id, has("resumed"))
        event = next(e for e in resumed if e.type.endswith("resumed"))
        assert _at(event.data["due_at"]) == resumed_at + timedelta(minutes=50)
        first = _metric(await ticket_sla(http, ticket.ticket_id), "first_reply")
        assert first["state"] == "running" and _at(first["due_at"]) == resumed_at + timedelta(minutes=50)
        clock.advance(timedelta(minutes=51))
        events = await sla_events(infra, ticket.ticket_id, has("breached"), settle=2)
        assert kinds(events).count("breached") == 1


async def test_duplicate_and_out_of_order_delivery_give_the_same_result(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600)
        in_order, shuffled = received(t0, brand), received(t0, brand)
        clock.advance(timedelta(minutes=30))
        for ticket in (in_order, shuffled):
            answer = reply(ticket.ticket_id, t0 + timedelta(minutes=20))
            if ticket is in_order:
                await send(infra, ticket)
                await send(infra, answer)
            else:
                answered = await send(infra, answer)
                opened = await send(infra, ticket)
                await send(infra, answer, event_id=answered.id)
                await send(infra, ticket, event_id=opened.id)
                await send(infra, answer)  # the same reply again under a new id: counts once
        expected = await sla_events(infra, in_order.ticket_id, has("applied", "met"), settle=1)
        got = await sla_events(infra, shuffled.ticket_id, has("applied", "met"), settle=3)
        assert sorted(kinds(got)) == sorted(kinds(expected)) == ["applied", "met"]
        one, other = await ticket_sla(http, in_order.ticket_id), await ticket_sla(http, shuffled.ticket_id)
        assert one["clocks"] == other["clocks"]


async def test_open_tickets_keep_their_version_until_the_newest_is_applied(infra):
    clock = _clock()
    t0 = clock.now()
    async with sla_client(infra, clock=clock) as http:
        brand = await policy_for_brand(http, first_reply_s=3600)
        old = received(t0, brand)
        await send(infra, old)
        (applied,) = await sla_events(infra, old.ticket_id, has("applied"))
        pinned = applied.data["config_version"]
        policy = (await http.get(f"/v1/policies/p-{brand}")).json()
        policy["targets"][0]["target_s"] = 600
        changed = await http.put(
            f"/v1/policies/p-{brand}", json={k: policy[k] for k in ("name", "conditions", "targets", "pause_on")}
        )
        newest = changed.json()["config_version"]
        assert newest > pinned
        new = received(t0, brand)
        await send(infra, new)
        await sla_events(infra, new.ticket_id, has("applied"))
        assert _metric(await ticket_sla(http, new.ticket_id), "first_reply")["target_s"] == 600
        kept = await ticket_sla(http, old.ticket_id)
        assert kept["config_version"] == pinned and _metric(kept, "first_reply")["target_s"] == 3600
        applied_all = await http.post("/v1/policies:apply")
        assert applied_all.status_code == 200, applied_all.text
        assert applied_all.json()["tickets"] >= 2 and applied_all.json()["config_version"] >= newest
        events = await sla_events(infra, old.ticket_id, lambda es: kinds(es).count("applied") == 2)
        assert events[-1].data["config_version"] == applied_all.json()["config_version"]
        moved = await ticket_sla(http, old.ticket_id)
        assert moved["config_version"] == applied_all.json()["config_version"]
        assert _metric(moved, "first_reply")["target_s"] == 600
