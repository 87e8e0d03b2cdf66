"""The database layer on real PostgreSQL: timeouts on every pooled connection, parameters kept out of
error messages, and an unreachable database answered with 503 + Retry-After rather than 500."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.ingest.entrypoints.api import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.router.entrypoints.api import create_app as create_router
from services.router.settings import RouterSettings
from shared.db import DbTimeouts, database_unavailable, make_engine
from shared.stack.local import Infrastructure
from shared.stack.ports import free_port
from tests.support.api import ADMIN, ADMIN_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(infra: Infrastructure) -> AsyncIterator[object]:
    timeouts = DbTimeouts(statement_s=0.3, lock_s=0.3, idle_in_transaction_s=0.5, pool_s=0.5)
    engine = make_engine(infra.service_urls["ingest"], pool_size=1, timeouts=timeouts)
    yield engine
    await engine.dispose()


async def test_every_connection_carries_the_server_side_timeouts(infra: Infrastructure) -> None:
    engine = make_engine(infra.service_urls["router"], pool_size=1)  # the defaults
    try:
        async with engine.connect() as conn:
            shown = {
                name: (await conn.execute(text(f"show {name}"))).scalar()
                for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
            }
    finally:
        await engine.dispose()
    assert shown == {"statement_timeout": "30s", "lock_timeout": "10s", "idle_in_transaction_session_timeout": "1min"}


async def test_a_statement_over_the_limit_is_cancelled(engine) -> None:
    started = time.monotonic()
    with pytest.raises(DBAPIError) as caught:
        async with engine.connect() as conn:
            await conn.execute(text("select pg_sleep(5)"))
    assert time.monotonic() - started < 3
    assert "statement timeout" in str(caught.value)
    assert database_unavailable(caught.value), "a cancelled statement is a 503 (retry later), not a 500"


async def test_a_lock_wait_over_the_limit_is_cancelled(infra: Infrastructure) -> None:
    holder = make_engine(infra.service_urls["ingest"], pool_size=1)
    engine = make_engine(infra.service_urls["ingest"], pool_size=1, timeouts=DbTimeouts(statement_s=5, lock_s=0.3))
    try:
        async with holder.begin() as held:
            await held.execute(text("select pg_advisory_xact_lock(160016)"))
            started = time.monotonic()
            with pytest.raises(DBAPIError) as caught:
                async with engine.begin() as conn:
                    await conn.execute(text("select pg_advisory_xact_lock(160016)"))
            assert time.monotonic() - started < 3
    finally:
        await holder.dispose()
        await engine.dispose()
    assert "lock timeout" in str(caught.value)
    assert database_unavailable(caught.value)


async def test_a_transaction_left_idle_is_ended_by_the_server(engine) -> None:
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as conn:
            await conn.execute(text("select 1"))
            await asyncio.sleep(1.5)
            await conn.execute(text("select 1"))
    assert database_unavailable(caught.value)


async def test_waiting_for_a_pooled_connection_is_bounded(engine) -> None:
    async with AsyncExitStack() as stack:
        for _ in range(2):  # pool_size 1 plus max_overflow 1
            await stack.enter_async_context(engine.connect())
        started = time.monotonic()
        with pytest.raises(PoolTimeout) as caught:
            await stack.enter_async_context(engine.connect())
        assert time.monotonic() - started < 3
    assert database_unavailable(caught.value)


async def test_a_failed_statement_does_not_carry_its_parameters(engine) -> None:
    secret = "whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtYmUtbG9nZ2Vk"
    with pytest.raises(DBAPIError) as caught:
        async with engine.connect() as conn:
            await conn.execute(text("select cast(:value as text), 1 / 0"), {"value": secret})
    assert "division by zero" in str(caught.value)
    assert "SQL parameters hidden" in str(caught.value)
    assert secret not in str(caught.value)


def _dead_database_settings(kind: type[Any]) -> Any:
    return kind(
        _env_file=None,
        database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/switchboard",
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        bootstrap_admin_key=ADMIN_KEY,
        run_consumers=False,
        run_relay=False,
    )


@pytest.mark.parametrize(
    ("create", "settings_kind", "method", "path"),
    [
        (create_ingest, IngestSettings, "POST", "/v1/webhooks/zendesk"),
        (create_ingest, IngestSettings, "GET", "/v1/tickets"),
        (create_router, RouterSettings, "GET", "/v1/agents"),
    ],
)
async def test_an_unreachable_database_answers_503_with_retry_after(create, settings_kind, method, path) -> None:
    app = create(_dead_database_settings(settings_kind))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=ADMIN) as client:
            response = await client.request(method, path, json={"event": "ticket.created"})
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert "database" in response.json()["detail"]


async def test_readyz_names_the_failing_checks_but_not_the_exception_text(capsys: pytest.CaptureFixture[str]) -> None:
    settings = _dead_database_settings(RouterSettings)
    app = create_router(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "unavailable", "kafka": "unavailable"}
    assert body["detail"] == "not ready: database, kafka unavailable"
    port = settings.database_url.rsplit(":", 1)[1].split("/")[0]
    assert port not in response.text and "Error" not in response.text, "no exception text for anonymous callers"
    assert "not ready: database: unreachable: ConnectionRefusedError" in capsys.readouterr().err, (
        "the reason goes to the log instead"
    )
