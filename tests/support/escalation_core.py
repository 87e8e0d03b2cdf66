"""An in-process escalation service on the real stack, driven by events on Kafka and its REST API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text

from services.escalation.adapters.deliveries import deliveries
from services.escalation.entrypoints.api import create_app
from services.escalation.settings import EscalationSettings
from shared.clock import FakeClock
from shared.events import Event
from shared.events.routing import QueueUpdated
from shared.events.sla import Metric, SlaBreached
from shared.runtime import Runtime
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of
from tests.support.ingest import unique
from tests.support.kafka import eventually, produce


@dataclass
class Escalations:
    http: httpx.AsyncClient
    app: FastAPI
    clock: FakeClock
    infra: Infrastructure

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def send(self, event: Event, *, event_id: str | None = None) -> str:
        """Produce `event` onto its topic as its service would; returns the event id."""
        envelope = envelope_of(event, event_id=event_id)
        await produce(self.infra.bootstrap_servers, event.TOPIC, envelope.to_bytes(), key=event.subject_id())
        return envelope.id

    async def known_queue(self, prefix: str = "tier2") -> str:
        """A queue the router announced (a QueueUpdated on the routing topic), once escalation knows it."""
        name = unique(prefix)
        await self.send(QueueUpdated(queue=name, updated_at=datetime.now(UTC)))

        async def known() -> bool:
            async with self.runtime.engine.connect() as c:
                found = await c.scalar(
                    text("select count(*) from escalation.known_queues where name = :n"), {"n": name}
                )
            return bool(found)

        await eventually(known, timeout=30)
        return name

    async def policy(self, policy_id: str, **body: Any) -> dict:
        response = await self.http.put(f"/v1/escalation-policies/{policy_id}", json={"name": policy_id, **body})
        assert response.status_code == 200, response.text
        return response.json()

    async def escalations_of(self, ticket_id: str, policy_id: str, *, count: int = 1, timeout: float = 30) -> list:
        async def found() -> list | None:
            response = await self.http.get("/v1/escalations", params={"ticket_id": ticket_id, "policy_id": policy_id})
            items = response.json()["items"]
            return items if len(items) >= count else None

        return await eventually(found, timeout=timeout)

    async def detail(self, escalation_id: str) -> dict:
        response = await self.http.get(f"/v1/escalations/{escalation_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def pages(self, escalation_id: str) -> list[str]:
        """Idempotency keys of the deliveries enqueued for the escalation."""
        query = select(deliveries.c.idempotency_key).where(deliveries.c.idempotency_key.like(f"esc:{escalation_id}:%"))
        async with self.runtime.engine.connect() as c:
            return sorted((await c.execute(query)).scalars())

    async def advance(self, seconds: float) -> None:
        """Move the clock on: the timer worker sleeps on it (`Clock.sleep_until`), so nothing else wakes it."""
        self.clock.advance(timedelta(seconds=seconds))


@asynccontextmanager
async def escalation_service(infra: Infrastructure, **overrides: Any) -> AsyncIterator[Escalations]:
    clock = FakeClock(datetime.now(UTC))
    settings = EscalationSettings(
        **{
            "database_url": infra.service_urls["escalation"],
            "kafka_bootstrap_servers": infra.bootstrap_servers,
            "bootstrap_admin_key": ADMIN_KEY,
            "log_format": "console",
            "_env_file": None,
            **overrides,
        }
    )
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://escalation", headers=ADMIN, timeout=60
        ) as http,
    ):
        yield Escalations(http, app, clock, infra)


def breach(ticket_id: str | None = None, metric: Metric = "first_reply") -> SlaBreached:
    at = datetime.now(UTC)
    return SlaBreached(
        ticket_id=ticket_id or str(uuid.uuid4()),
        policy_id="sla-standard",
        metric=metric,
        target_s=3600,
        business_hours=False,
        due_at=at,
        business_elapsed_s=3600,
        calendar_elapsed_s=3600,
        breached_at=at,
    )
