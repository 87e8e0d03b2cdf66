"""API keys for router tests: ingest issues keys as events; here we publish the same event ourselves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

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
    bootstrap = http._transport.app.state.settings.kafka_bootstrap_servers  # type: ignore[attr-defined]
    await produce(bootstrap, topics.ACCESS, envelope_of(event).to_bytes(), key=event.key_id)
    headers = {"Authorization": f"Bearer {secret}"}

    async def accepted() -> bool:
        return (await http.get("/v1/agents/me/tickets", headers=headers)).status_code == 200

    await eventually(accepted, timeout=30)
    return headers
