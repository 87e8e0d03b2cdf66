"""An in-process escalation service on the real stack, its REST API, and direct use of its delivery queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.escalation.adapters import deliveries as store
from services.escalation.entrypoints.api import create_app
from services.escalation.settings import EscalationSettings
from shared.clock import Clock
from shared.runtime import Runtime
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.kafka import eventually

# fast retries so a test sees a whole schedule in seconds
FAST = dict(
    allow_private_targets=True,
    delivery_backoff_base_s=0.05,
    delivery_backoff_cap_s=0.2,
    delivery_idle_wake_s=0.5,
    delivery_timeout_s=5.0,
    delivery_max_attempts=4,
    delivery_max_age_s=120.0,
)


@dataclass
class Escalation:
    """The running app's admin client and its runtime (for the clock, the database, the seam)."""

    http: httpx.AsyncClient
    runtime: Runtime


@asynccontextmanager
async def escalation_app(
    infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[Escalation]:
    """The app running (consumers, worker, relay) behind an admin client; its subscriptions are deleted after."""
    fields = dict(
        database_url=infra.service_urls["escalation"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        _env_file=None,
        **FAST,
    )
    app = create_app(EscalationSettings(**{**fields, **overrides}), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://escalation", headers=ADMIN, timeout=30
        ) as http,
    ):
        try:
            yield Escalation(http, get_runtime_of(app))
        finally:
            for subscription in (await http.get("/v1/subscriptions")).json():
                await http.delete(f"/v1/subscriptions/{subscription['id']}")


async def subscribe(http: httpx.AsyncClient, url: str, *event_types: str, **fields: Any) -> dict[str, Any]:
    response = await http.post("/v1/subscriptions", json={"url": url, "event_types": list(event_types), **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def enqueue(runtime: Runtime, *, now: datetime | None = None, **fields: Any) -> bool:
    """Call the `enqueue` seam in a unit of work of the running app, as another handler would."""
    async with runtime.uow() as uow:
        fields = {"secret": None, "event_type": "switchboard.test.happened", "payload": {"n": 1}, **fields}
        new = await store.enqueue(uow.session, now=now or runtime.clock.now(), **fields)
        await uow.commit()
    return new


def get_runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def deliveries(http: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await http.get("/v1/deliveries", params=filters)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(http: httpx.AsyncClient, delivery_id: str, state: str, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the delivery is in `state`; returns it with its attempts."""

    async def check() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"/v1/deliveries/{delivery_id}")).json()
        return body if body.get("state") == state else {}

    found: dict[str, Any] = await eventually(check, timeout=timeout, interval=0.1)
    return found
