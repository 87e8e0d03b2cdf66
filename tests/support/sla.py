"""An in-process sla service on the real stack, driven by ticket events on Kafka and its REST API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.sla.entrypoints.api import create_app
from services.sla.settings import SlaSettings
from shared.clock import Clock
from shared.events import Envelope, Event, topics
from shared.events.tickets import MessageAdded, Status, TicketReceived, TicketStatusChanged
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of, ticket_received
from tests.support.ingest import unique
from tests.support.kafka import about, eventually, produce, read_all


def sla_app(infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any) -> FastAPI:
    fields = dict(
        database_url=infra.service_urls["sla"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        _env_file=None,
    )
    return create_app(SlaSettings(**{**fields, **overrides}), clock=clock)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sla", headers=ADMIN, timeout=30
        ) as http,
    ):
        yield http


@asynccontextmanager
async def sla_client(
    infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(sla_app(infra, clock=clock, **overrides)) as http:
        yield http


async def send(infra: Infrastructure, event: Event, *, event_id: str | None = None) -> Envelope:
    """Publish `event` on its topic as its producer would (the same `event_id` twice is a redelivery)."""
    envelope = envelope_of(event, event_id=event_id)
    await produce(infra.bootstrap_servers, event.TOPIC, envelope.to_bytes(), key=event.subject_id())
    return envelope


def received(at: datetime, brand: str, **fields: Any) -> TicketReceived:
    return ticket_received(str(uuid.uuid4()), received_at=at, brand=brand, **fields)


def reply(ticket_id: str, at: datetime, *, author: str = "agent", public: bool = True) -> MessageAdded:
    return MessageAdded(
        ticket_id=ticket_id,
        message_id=str(uuid.uuid4()),
        author_kind=author,  # type: ignore[arg-type]
        public=public,
        author_agent_id="a-1" if author == "agent" else None,
        added_at=at,
    )


def status(ticket_id: str, old: Status, new: Status, at: datetime) -> TicketStatusChanged:
    return TicketStatusChanged(ticket_id=ticket_id, old_status=old, new_status=new, changed_at=at)


async def policy_for_brand(
    http: httpx.AsyncClient,
    *,
    first_reply_s: int = 3600,
    resolution_s: int | None = None,
    warn_percent: float | None = 80,
    **body: Any,
) -> str:
    """A policy (checked first) for tickets of a new brand; the brand is returned."""
    brand = unique("brand")
    targets = [
        {"metric": "first_reply", "target_s": first_reply_s, "business_hours": False, "warn_percent": warn_percent}
    ]
    if resolution_s is not None:
        targets.append({"metric": "resolution", "target_s": resolution_s, "business_hours": False})
    payload = {"name": brand, "position": 0, "conditions": {"brand": [brand]}, "targets": targets, **body}
    response = await http.put(f"/v1/policies/p-{brand}", json=payload)
    assert response.status_code == 200, response.text
    return brand


async def sla_events(
    infra: Infrastructure,
    ticket_id: str,
    until: Callable[[list[Envelope]], bool],
    *,
    settle: float = 0.0,
    timeout: float = 45.0,
) -> list[Envelope]:
    """The SLA events about the ticket so far, once `until` holds of them (and `settle` s more)."""
    records = await read_all(
        infra.bootstrap_servers,
        topics.SLA,
        until=lambda rs: until(about(rs, ticket_id)),
        settle=settle,
        timeout=timeout,
    )
    return about(records, ticket_id)


def kinds(envelopes: list[Envelope]) -> list[str]:
    return [e.type.removeprefix("switchboard.sla.") for e in envelopes]


def has(*wanted: str) -> Callable[[list[Envelope]], bool]:
    return lambda envelopes: all(kind in kinds(envelopes) for kind in wanted)


async def ticket_sla(http: httpx.AsyncClient, ticket_id: str, *, timeout: float = 45.0) -> dict:
    async def shown() -> dict | None:
        response = await http.get(f"/v1/tickets/{ticket_id}/sla")
        return response.json() if response.status_code == 200 else None

    found = await eventually(shown, timeout=timeout)
    assert isinstance(found, dict)
    return found
