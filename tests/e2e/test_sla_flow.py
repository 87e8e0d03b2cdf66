"""SLA clocks across the real processes: a signed webhook opens a ticket at ingest, the sla service
measures it by a policy configured over its REST API, and the clock events appear on Kafka: a warning
then a breach on time, a reply in time that meets, a pending status that pauses and resumes.

Each test's policy is checked first and matches only its own brand, so nothing else in the session
(the demo configuration's default policy included) measures these tickets, or is measured by it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from shared.events import Envelope, topics
from tests.support.api import ADMIN
from tests.support.ingest import signed_webhook
from tests.support.kafka import envelopes, eventually, read_all

pytestmark = pytest.mark.e2e
SECRET = "e2e-sla-webhook-secret"


class Stack:
    """The running services, one admin client, and a webhook source and SLA policy for one brand."""

    def __init__(self, services: dict[str, Any], http: httpx.AsyncClient) -> None:
        self.ingest, self.router, self.sla = (services[n].url for n in ("ingest", "router", "sla"))
        self.bootstrap = services["sla"].env["KAFKA_BOOTSTRAP_SERVERS"]
        self.http = http
        self.brand = f"sla-e2e-{uuid.uuid4().hex[:8]}"

    async def configure(self, *targets: dict[str, Any]) -> None:
        source = await self.http.put(
            f"{self.ingest}/v1/admin/webhook-sources/{self.brand}",
            json={"kind": "generic", "secrets": [SECRET], "brand": self.brand},
        )
        assert source.status_code in (200, 201), source.text
        policy = {
            "name": self.brand,
            "position": 0,
            "conditions": {"brand": [self.brand]},
            "targets": [{"business_hours": False, **t} for t in targets],
        }
        saved = await self.http.put(f"{self.sla}/v1/policies/p-{self.brand}", json=policy)
        assert saved.status_code == 200, saved.text

    async def webhook_ticket(self, subject: str = "Order never arrived") -> str:
        body, headers = signed_webhook(
            {
                "event": "ticket.created",
                "external_id": uuid.uuid4().hex,
                "subject": subject,
                "body": "Where is it?",
                "requester": {"email": f"{uuid.uuid4().hex[:6]}@customer.example"},
            },
            SECRET,
        )
        accepted = await self.http.post(
            f"{self.ingest}/v1/webhooks/{self.brand}", content=body, headers={**headers, "Authorization": ""}
        )
        assert accepted.status_code == 202, accepted.text
        ticket_id: str = accepted.json()["results"][0]["ticket_id"]
        return ticket_id

    async def records(
        self, ticket_id: str, until: Callable[[list[Envelope]], bool], *, settle: float = 0.0, timeout: float = 45.0
    ) -> list[tuple[ConsumerRecord, Envelope]]:
        """The ticket's SLA records with their envelopes, once `until` holds of the envelopes."""

        def mine(records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, Envelope]]:
            return [(r, e) for r in records for e in envelopes([r]) if e.subject == ticket_id]

        found = await read_all(
            self.bootstrap,
            topics.SLA,
            until=lambda rs: until([e for _, e in mine(rs)]),
            settle=settle,
            timeout=timeout,
        )
        return mine(found)

    async def status(self, ticket_id: str, new: str) -> None:
        changed = await self.http.patch(f"{self.ingest}/v1/tickets/{ticket_id}", json={"status": new})
        assert changed.status_code == 200, changed.text


def kinds(found: list[Envelope]) -> Counter[str]:
    return Counter(e.type.removeprefix("switchboard.sla.") for e in found)


def has(**wanted: int) -> Callable[[list[Envelope]], bool]:
    """At least this many events of each kind (`has(breached=1, applied=1)`)."""
    return lambda found: all(kinds(found)[kind] >= n for kind, n in wanted.items())


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_an_unanswered_webhook_ticket_warns_then_breaches_once_on_time(services):
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        stack = Stack(services, http)
        await stack.configure({"metric": "first_reply", "target_s": 4, "warn_percent": 50})
        # a first ticket through the whole path, so the measured one does not pay for any warm-up
        warm_up = await stack.webhook_ticket("warm-up")
        await stack.records(warm_up, has(applied=1))

        ticket_id = await stack.webhook_ticket()
        found = await stack.records(ticket_id, has(applied=1, warning=1, breached=1), settle=3)
        assert kinds([e for _, e in found]) == Counter(applied=1, warning=1, breached=1)
        by_kind = {e.type.removeprefix("switchboard.sla."): (r, e) for r, e in found}
        applied = by_kind["applied"][1].data
        assert applied["policy_id"] == f"p-{stack.brand}"
        (target,) = applied["targets"]
        due = stamp(target["due_at"])

        record, breach = by_kind["breached"]
        assert (breach.data["metric"], breach.data["cycle"]) == ("first_reply", 0)
        assert stamp(breach.data["breached_at"]) == stamp(breach.data["due_at"]) == due
        emitted = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        lateness = (emitted - due).total_seconds()
        assert -0.05 <= lateness < 1.5, f"breach emitted {lateness:.3f} s after its due instant"

        record, warning = by_kind["warning"]
        warned = stamp(warning.data["warned_at"])
        assert stamp(warning.data["due_at"]) == due and warned == due - timedelta(seconds=2)
        warn_lateness = (datetime.fromtimestamp(record.timestamp / 1000, UTC) - warned).total_seconds()
        assert -0.05 <= warn_lateness < 1.5, f"warning emitted {warn_lateness:.3f} s after its instant"
        print(f"\nwarning on Kafka {warn_lateness:.3f} s after its instant, breach {lateness:.3f} s after its due")

        # the clock the sla service shows agrees
        shown = (await http.get(f"{stack.sla}/v1/tickets/{ticket_id}/sla")).json()
        first = next(c for c in shown["clocks"] if c["metric"] == "first_reply")
        assert (first["state"], stamp(first["breached_at"])) == ("breached", due)


async def test_a_public_agent_reply_in_time_meets_first_reply_and_nothing_breaches_later(services):
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        stack = Stack(services, http)
        target_s = 15
        await stack.configure({"metric": "first_reply", "target_s": target_s})
        # the router assigns the brand's tickets to one agent, who replies with their own key
        skill, agent = stack.brand, f"ann-{stack.brand}"
        queue = f"q-{stack.brand}"
        assert (
            await http.put(f"{stack.router}/v1/queues/{queue}", json={"required_skills": {skill: 1}})
        ).status_code == 200
        rules = (await http.get(f"{stack.router}/v1/rules")).json()
        rule = {"id": queue, "conditions": {"brand": [stack.brand]}, "actions": {"queue": queue}}
        assert (
            await http.put(
                f"{stack.router}/v1/rules", json={"rules": [rule, *rules["rules"]], "default": rules["default"]}
            )
        ).status_code == 200
        assert (
            await http.put(f"{stack.router}/v1/agents/{agent}", json={"name": "Ann", "skills": {skill: 3}})
        ).status_code == 200
        assert (
            await http.put(f"{stack.router}/v1/agents/{agent}/status", json={"status": "online"})
        ).status_code == 200
        issued = await http.post(
            f"{stack.ingest}/v1/api-keys", json={"role": "agent", "name": "Ann", "agent_id": agent}
        )
        assert issued.status_code == 201, issued.text
        ann = {"Authorization": f"Bearer {issued.json()['key']}"}
        try:
            ticket_id = await stack.webhook_ticket()

            async def assigned_at_ingest() -> bool:
                view = (await http.get(f"{stack.ingest}/v1/tickets/{ticket_id}")).json()
                return view["assignee_agent_id"] == agent

            await eventually(assigned_at_ingest, timeout=10)
            note = await http.post(
                f"{stack.ingest}/v1/tickets/{ticket_id}/messages",
                json={"body": "checking the carrier", "public": False},
                headers=ann,
            )
            assert note.status_code == 201, note.text
            answer = await http.post(
                f"{stack.ingest}/v1/tickets/{ticket_id}/messages", json={"body": "On its way!"}, headers=ann
            )
            assert answer.status_code == 201, answer.text
            found = await stack.records(ticket_id, has(applied=1, met=1))
            due = stamp(next(e for _, e in found if e.type.endswith("applied")).data["targets"][0]["due_at"])
            met = next(e for _, e in found if e.type.endswith("met")).data
            assert stamp(met["met_at"]) < due and met["metric"] == "first_reply"

            # past the due instant (and a settle), still only applied and met
            wait = (due - datetime.now(UTC)).total_seconds() + 2
            found = await stack.records(ticket_id, has(applied=1, met=1), settle=max(wait, 0.5))
            assert kinds([e for _, e in found]) == Counter(applied=1, met=1)
            shown = (await http.get(f"{stack.sla}/v1/tickets/{ticket_id}/sla")).json()
            first = next(c for c in shown["clocks"] if c["metric"] == "first_reply")
            assert (first["state"], first["breached_at"]) == ("met", None)
        finally:
            await http.put(f"{stack.router}/v1/agents/{agent}/status", json={"status": "offline"})


async def test_pending_at_ingest_pauses_the_clocks_and_open_resumes_them_with_a_later_due(services):
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        stack = Stack(services, http)
        await stack.configure({"metric": "first_reply", "target_s": 60}, {"metric": "resolution", "target_s": 600})
        ticket_id = await stack.webhook_ticket()
        found = await stack.records(ticket_id, has(applied=1))
        first_due = stamp(next(t for t in found[0][1].data["targets"] if t["metric"] == "first_reply")["due_at"])

        await stack.status(ticket_id, "pending")
        found = await stack.records(ticket_id, has(paused=2))
        paused = [e.data for _, e in found if e.type.endswith("paused")]
        assert {(p["metric"], p["reason"], p["due_at"]) for p in paused} == {
            ("first_reply", "pending", None),
            ("resolution", "pending", None),
        }
        shown = (await http.get(f"{stack.sla}/v1/tickets/{ticket_id}/sla")).json()
        assert {c["metric"]: (c["state"], c["due_at"]) for c in shown["clocks"]} == {
            "first_reply": ("paused", None),
            "resolution": ("paused", None),
        }
        for clock in shown["clocks"]:
            (pause,) = clock["pauses"]
            assert (pause["reason"], pause["ended_at"]) == ("pending", None)

        # paused for a while, then open again: the due moves by at least the pause
        await eventually(lambda: datetime.now(UTC) > stamp(paused[0]["paused_at"]) + timedelta(seconds=2), timeout=5)
        await stack.status(ticket_id, "open")
        found = await stack.records(ticket_id, has(resumed=2), settle=1)
        resumed = {e.data["metric"]: e.data for _, e in found if e.type.endswith("resumed")}
        assert set(resumed) == {"first_reply", "resolution"}
        again = resumed["first_reply"]
        assert again["reason"] == "pending"
        pause_s = (stamp(again["resumed_at"]) - stamp(paused[0]["paused_at"])).total_seconds()
        assert pause_s >= 2
        assert abs((stamp(again["due_at"]) - first_due).total_seconds() - pause_s) < 0.01
        assert kinds([e for _, e in found]) == Counter(applied=1, paused=2, resumed=2)
        shown = (await http.get(f"{stack.sla}/v1/tickets/{ticket_id}/sla")).json()
        first = next(c for c in shown["clocks"] if c["metric"] == "first_reply")
        assert (first["state"], stamp(first["due_at"])) == ("running", stamp(again["due_at"]))
        assert first["pauses"][0]["ended_at"] is not None
