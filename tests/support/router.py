"""An in-process router on the real stack, driven by events on Kafka and its REST API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.clock import Clock
from shared.events import topics
from shared.events.tickets import Status, TicketReceived, TicketStatusChanged
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of, ticket_received
from tests.support.ingest import unique
from tests.support.kafka import eventually, produce


@asynccontextmanager
async def router_client(
    infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    fields = dict(
        database_url=infra.service_urls["router"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        sweep_interval_s=0.05,
        _env_file=None,
    )
    app = create_app(RouterSettings(**{**fields, **overrides}), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN, timeout=30
        ) as http,
    ):
        yield http


async def send_ticket(infra: Infrastructure, **fields: Any) -> TicketReceived:
    event = ticket_received(str(uuid.uuid4()), **fields)
    await produce(infra.bootstrap_servers, topics.TICKETS, envelope_of(event).to_bytes(), key=event.ticket_id)
    return event


async def send_status(infra: Infrastructure, ticket_id: str, old: Status, new: Status) -> None:
    event = TicketStatusChanged(ticket_id=ticket_id, old_status=old, new_status=new, changed_at=datetime.now(UTC))
    await produce(infra.bootstrap_servers, topics.TICKETS, envelope_of(event).to_bytes(), key=ticket_id)


async def routed(
    http: httpx.AsyncClient,
    ticket_id: str,
    *,
    status: str | None = None,
    agent: str | None = None,
    queue: str | None = None,
    timeout: float = 30,
) -> dict:
    """Wait until the router shows the ticket in the given state."""

    async def check() -> dict | None:
        response = await http.get(f"/v1/tickets/{ticket_id}")
        if response.status_code != 200:
            return None
        body = response.json()
        wanted = {"status": status, "agent_id": agent, "queue": queue}
        return body if all(v is None or body[k] == v for k, v in wanted.items()) else None

    shown = await eventually(check, timeout=timeout)
    assert isinstance(shown, dict)
    return shown


class World:
    """One test's skill, queues, agents and rules."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.skill = unique("skill")
        self.tag = self.skill

    async def queue(self, name: str, **config: Any) -> str:
        name = f"{name}-{self.skill}"
        response = await self.http.put(f"/v1/queues/{name}", json={"required_skills": {self.skill: 1}, **config})
        assert response.status_code == 200, response.text
        return name

    async def agent(self, name: str, status: str = "online", level: int = 3, **profile: Any) -> str:
        agent_id = f"{name}-{self.skill}"
        body = {"name": name, "skills": {self.skill: level}, **profile}
        response = await self.http.put(f"/v1/agents/{agent_id}", json=body)
        assert response.status_code == 200, response.text
        if status != "offline":
            assert (await self.http.put(f"/v1/agents/{agent_id}/status", json={"status": status})).status_code == 200
        return agent_id

    async def route_tag_to(self, queue: str, tag: str | None = None, **actions: Any) -> None:
        """Add a rule sending this test's tag (or `tag`) to `queue` in front of the current rules."""
        tag = tag or self.tag
        current = (await self.http.get("/v1/rules")).json()
        rule_id = f"r-{tag}"
        rules = [{"id": rule_id, "conditions": {"tags_any": [tag]}, "actions": {"queue": queue, **actions}}]
        rules += [r for r in current["rules"] if r["id"] != rule_id]
        response = await self.http.put("/v1/rules", json={"rules": rules, "default": current["default"]})
        assert response.status_code == 200, response.text

    async def ticket(self, infra: Infrastructure, **fields: Any) -> TicketReceived:
        return await send_ticket(infra, tags=(self.tag, *fields.pop("tags", ())), **fields)
