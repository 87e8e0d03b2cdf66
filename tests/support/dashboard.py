"""The dashboard in-process: on the insights app itself, or on a host serving the API's contract from a fixture.

`insights_app` is the real service. `host_app` mounts the dashboard's routes on an app of the sla
service's plumbing (its database role and `api_keys` table) beside a fixture router answering the
insights API's contract with `FIXTURE`, whose numbers a test may change: every table and chart has
rows, whatever the shared database holds. Keys are written to the app's own key table with
`apply_issued`, as the access consumer would.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.entrypoints import dashboard
from services.insights.entrypoints.api import create_app as create_insights_app
from services.insights.entrypoints.session import dashboard_or_key_principal
from services.insights.settings import InsightsSettings
from services.sla.entrypoints.api import DEFINITION as HOST
from services.sla.settings import SlaSettings
from shared.auth import generate_secret, hash_key
from shared.auth.keys import Principal
from shared.auth.store import apply_issued, apply_revoked
from shared.clock import Clock
from shared.db import make_engine
from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.stack.local import Infrastructure
from shared.stack.ports import run_async
from shared.web.app import create_service_app
from tests.support.api import ADMIN_KEY

_SUMMARY = {
    "created": 42,
    "solved": 31,
    "reopened": 2,
    "backlog": 17,
    "first_reply": {
        "median_business_s": 1260.0,
        "p90_business_s": 5400.0,
        "median_calendar_s": 1500.0,
        "p90_calendar_s": 9000.0,
    },
    "resolution": {
        "median_business_s": 14400.0,
        "p90_business_s": 61200.0,
        "median_calendar_s": None,
        "p90_calendar_s": None,
    },
    "sla_adherence_percent": 93.5,
    "escalation_rate_percent": 4.8,
    "open_escalations_by_level": {"1": 2, "2": 1},
    "fcr_percent": 61.3,
    "csat_percent": 88.0,
    "csat_response_rate_percent": None,
    "reopen_rate_percent": 6.5,
}


def initial_fixture() -> dict[str, Any]:
    week = {**copy.deepcopy(_SUMMARY), "created": 230, "solved": 201, "fcr_percent": 58.2}
    return {
        "summary": {"today": copy.deepcopy(_SUMMARY), "week": week},
        "queues": [
            {"queue": "triage", "waiting": 5, "oldest_wait_s": 840.0, "assigned": 12},
            {"queue": "billing", "waiting": 0, "oldest_wait_s": None, "assigned": 4},
        ],
        "agents": [
            {
                "agent_id": "demo-triage",
                "name": "Demo Triage",
                "status": "online",
                "load": 7,
                "capacity": 50,
                "load_by_channel": {"email": 6, "chat": 1},
                "capacity_by_channel": {"email": 50, "chat": 3},
            },
            {
                "agent_id": "demo-agent",
                "name": "Demo Agent",
                "status": "away",
                "load": 4,
                "capacity": 50,
                "load_by_channel": {"email": 4},
                "capacity_by_channel": {"email": 50},
            },
        ],
        "sla_at_risk": [
            {
                "ticket_id": "t-2",
                "reference": "SB-000002",
                "metric": "resolution",
                "due_at": "2026-01-05T16:00:00Z",
                "seconds_to_breach": 3300.0,
                "priority": "normal",
                "queue": "billing",
            },
            {
                "ticket_id": "t-1",
                "reference": "SB-000001",
                "metric": "first_reply",
                "due_at": "2026-01-05T12:00:00Z",
                "seconds_to_breach": 420.0,
                "priority": "urgent",
                "queue": "triage",
            },
        ],
        "sla_breached_today": [
            {
                "ticket_id": "t-9",
                "reference": "SB-000009",
                "metric": "first_reply",
                "breached_at": "2026-01-05T09:12:00Z",
                "priority": "high",
                "queue": "triage",
            },
        ],
        "escalations": [
            {
                "escalation_id": "e-1",
                "ticket_id": "t-9",
                "reference": "SB-000009",
                "trigger": "sla_breached",
                "acknowledged": False,
                "level": 2,
                "age_s": 5400.0,
            },
            {
                "escalation_id": "e-2",
                "ticket_id": "t-1",
                "reference": "SB-000001",
                "trigger": "vip",
                "acknowledged": True,
                "level": 1,
                "age_s": 600.0,
            },
        ],
    }


FIXTURE: dict[str, Any] = initial_fixture()
fixture_api = APIRouter(prefix="/v1", dependencies=[Depends(dashboard_or_key_principal)])


def _period(start: str) -> str:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return "today" if datetime.fromisoformat(start) >= today else "week"


@fixture_api.get("/kpis/summary")
async def summary(from_: str | None = Query(None, alias="from"), to: str | None = None) -> dict[str, Any]:
    return {"from": from_, "to": to, **FIXTURE["summary"][_period(from_ or "1970-01-01T00:00:00Z")]}


@fixture_api.get("/kpis/{kpi}")
async def kpi_rows(
    kpi: str,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    group_by: str | None = None,
    interval: str | None = None,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if kpi == "volume":
        step = 3600 if interval == "hour" else 86400
        for back in range(6):
            bucket = datetime.fromtimestamp(now.timestamp() // step * step - back * step, UTC)
            rows.append({"group": None, "bucket": bucket.isoformat(), "created": 3 + back % 4, "solved": 2 + back % 3})
    elif kpi in ("first-reply", "resolution"):
        scale = 1800 if kpi == "first-reply" else 14400
        for back in range(3):
            bucket = datetime.fromtimestamp(now.timestamp() // 86400 * 86400 - back * 86400, UTC)
            rows.append({"group": None, "bucket": bucket.isoformat(), "median_business_s": scale * (1 + back / 2)})
    elif kpi == "sla":
        groups: dict[str, list[str | None]] = {
            "priority": ["urgent", "normal"],
            "channel": ["email", "chat"],
            "tier": ["vip", None],
            "queue": ["triage", "billing"],
        }
        for i, group in enumerate(groups.get(group_by or "", [None])):
            rows.append(
                {
                    "group": group,
                    "bucket": None,
                    "met": 20 - i * 5,
                    "breached": 1 + i,
                    "adherence_percent": round(100 * (20 - i * 5) / (21 - i * 4), 1),
                }
            )
    return {"kpi": kpi, "from": from_, "to": to, "group_by": group_by, "interval": interval, "rows": rows}


@fixture_api.get("/live/{what}")
async def live(what: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = FIXTURE[what.replace("-", "_")]
    return rows


def insights_app(infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any) -> FastAPI:
    """The insights service itself, in-process, with its dashboard."""
    fields = dict(
        database_url=infra.service_urls["insights"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        _env_file=None,
    )
    return create_insights_app(InsightsSettings(**{**fields, **overrides}), clock=clock)


def host_app(infra: Infrastructure, *, clock: Clock | None = None, **overrides: Any) -> FastAPI:
    """The dashboard and the fixture API on the sla role's database (no consumers: keys are written directly)."""
    fields = dict(
        database_url=infra.service_urls["sla"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        run_consumers=False,
        run_relay=False,
        log_format="console",
        _env_file=None,
    )
    settings = SlaSettings(**{**fields, **overrides})
    return create_service_app(
        HOST, settings, routers=(dashboard.router, fixture_api), clock=clock, title="dashboard host"
    )


async def issue_key(app: FastAPI, role: str) -> tuple[str, Principal]:
    """A new key of `role` in the host's own key table, as the access consumer would store it."""
    runtime = app.state.runtime
    async with runtime.sessionmaker() as session, session.begin():
        return await _issue(session, runtime.definition.api_keys, role)


def issue_key_now(infra: Infrastructure, role: str) -> str:
    """`issue_key` from synchronous code (a browser test), over a connection of its own."""

    async def issue() -> str:
        engine = make_engine(infra.service_urls["sla"], pool_size=1)
        try:
            async with AsyncSession(engine) as session, session.begin():
                secret, _ = await _issue(session, HOST.api_keys, role)
        finally:
            await engine.dispose()
        return secret

    return run_async(issue(), timeout=30)


async def _issue(session: AsyncSession, table: Table | None, role: str) -> tuple[str, Principal]:
    secret = generate_secret(role)
    key_id = str(uuid.uuid4())
    event = ApiKeyIssued.model_validate(
        {
            "key_id": key_id,
            "key_hash": hash_key(secret),
            "role": role,
            "name": f"{role}-{key_id[:8]}",
            "agent_id": "someone" if role == "agent" else None,
            "source": "demo" if role == "platform" else None,
            "issued_at": datetime.now(UTC),
        }
    )
    assert table is not None, "the host keeps no API keys"
    await apply_issued(session, table, event)
    return secret, Principal(key_id=key_id, role=role, name=event.name)


async def revoke_key(app: FastAPI, key_id: str) -> None:
    runtime = app.state.runtime
    async with runtime.sessionmaker() as session, session.begin():
        await apply_revoked(
            session, runtime.definition.api_keys, ApiKeyRevoked(key_id=key_id, revoked_at=datetime.now(UTC))
        )
