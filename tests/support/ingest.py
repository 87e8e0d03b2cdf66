"""An in-process ingest app on the real Kafka and PostgreSQL of the session, for integration tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.ingest.entrypoints.api import create_app
from services.ingest.settings import IngestSettings
from services.ingest.webhooks import sign_standard
from shared.clock import Clock
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN, ADMIN_KEY


def shared_data() -> Path:
    """The read-only corpus `shared/data` beside the repository, found from a git worktree too
    (a worktree sits one folder deeper than the main checkout)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "shared" / "data" / "SOURCES.md").is_file():
            return folder / "shared" / "data"
    return here.parents[3] / "shared" / "data"  # where it should be: the assertions name this path


def ingest_settings(infra: Infrastructure, **overrides: Any) -> IngestSettings:
    fields = dict(
        database_url=infra.service_urls["ingest"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        smtp_port=None,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        _env_file=None,
    )
    return IngestSettings(**{**fields, **overrides})


@asynccontextmanager
async def ingest_client(
    infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any
) -> AsyncIterator[IngestClient]:
    app = create_app(ingest_settings(infra, **overrides), clock=clock)
    async with app.router.lifespan_context(app), IngestClient(app) as http:
        yield http


class IngestClient(httpx.AsyncClient):
    """An admin's client on the in-process app; `app` is that app, for tests that reach into its state."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://ingest", headers=ADMIN, timeout=30)
        self.app = app


def unique(prefix: str) -> str:
    """Tests share one database: names they create carry a random part."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def issue_key(http: httpx.AsyncClient, role: str, **scope: str) -> dict[str, str]:
    response = await http.post("/v1/api-keys", json={"role": role, "name": unique(role), **scope}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def standard_webhook_headers(
    raw: bytes, secret: str, *, msg_id: str | None = None, at: int | None = None
) -> dict[str, str]:
    """Standard Webhooks headers signing `raw`: a fresh delivery id and the current time unless given."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = int(time.time()) if at is None else at
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(at),
        "webhook-signature": sign_standard(secret, msg_id, at, raw),
        "content-type": "application/json",
    }


def signed_webhook(
    payload: dict[str, Any], secret: str, *, msg_id: str | None = None, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """`payload` as JSON bytes and the Standard Webhooks headers that sign it."""
    raw = json.dumps(payload).encode()
    return raw, standard_webhook_headers(raw, secret, msg_id=msg_id, at=at)
