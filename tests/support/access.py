"""API keys for router tests: ingest issues keys as events; here we publish the same event ourselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from shared.auth import generate_secret, hash_key
from shared.events import topics
from shared.events.access import ApiKeyIssued
from tests.support.events import envelope_of
from tests.support.kafka import eventually, produce


async def agent_key(http: httpx.AsyncClient, agent_id: str) -> dict[str, str]:
    """Publish an ApiKeyIssued for an agent key and wait until the service accepts it."""
    secret = generate_secret("agent")
    event = ApiKeyIssued(
        key_id=str(uuid.uuid4()),
        key_hash=hash_key(secret),
        role="agent",
        name=agent_id,
        agent_id=agent_id,
        issued_at=datetime.now(UTC),
    )
    bootstrap = _app_of(http).state.settings.kafka_bootstrap_servers
    await produce(bootstrap, topics.ACCESS, envelope_of(event).to_bytes(), key=event.key_id)
    headers = {"Authorization": f"Bearer {secret}"}

    async def accepted() -> bool:
        return (await http.get("/v1/agents/me/tickets", headers=headers)).status_code == 200

    await eventually(accepted, timeout=30)
    return headers


def _app_of(http: httpx.AsyncClient) -> FastAPI:
    """The service app a test client talks to in-process (httpx.ASGITransport)."""
    transport = http._transport
    app = transport.app if isinstance(transport, httpx.ASGITransport) else None
    if not isinstance(app, FastAPI):
        raise TypeError("agent_key needs a client on httpx.ASGITransport(app=<the service's FastAPI app>)")
    return app
