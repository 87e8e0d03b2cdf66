"""Statements that need no transaction are sent without one, on the real PostgreSQL.

A transaction around one read costs two extra round trips (BEGIN, then ROLLBACK) and a
session's set-up: on every authenticated request (the key lookup) and after nearly every
routing commit (the wake-up check, handlers/wakeups.py), that was a good share of what a
ticket cost at low rates. These count what is sent (tests/support/statements.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.router.adapters.repository import RoutingRepository, bump_wake
from services.router.entrypoints.api import create_app as create_router
from services.router.handlers.wakeups import Wake
from services.router.settings import RouterSettings
from shared.runtime import Runtime
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.ingest import IngestClient, ingest_client, issue_key
from tests.support.statements import counting

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingest(infra) -> AsyncIterator[IngestClient]:
    async with ingest_client(infra, run_consumers=False) as http:
        yield http


async def test_a_key_lookup_adds_one_statement_and_no_transaction(ingest: IngestClient) -> None:
    key = await issue_key(ingest, "admin")
    await ingest.get("/v1/api-keys", headers=key)  # the first use prepares the statement
    with counting() as bootstrap:
        assert (await ingest.get("/v1/api-keys", headers=ADMIN)).status_code == 200  # no lookup for this key
    with counting() as issued:
        assert (await ingest.get("/v1/api-keys", headers=key)).status_code == 200
    extra = issued - bootstrap
    assert dict(extra) == {"SELECT": 1}, f"the key lookup sent {dict(extra)} beyond the request's own statements"


async def test_a_revoked_key_is_refused_at_once(ingest: IngestClient) -> None:
    """The lookup is not cached: revoking takes effect on the next request."""
    response = await ingest.post("/v1/api-keys", json={"role": "manager", "name": "revoke-me"}, headers=ADMIN)
    key_id, secret = response.json()["key_id"], response.json()["key"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await ingest.get("/v1/tickets", headers=headers)).status_code == 200
    assert (await ingest.delete(f"/v1/api-keys/{key_id}", headers=ADMIN)).status_code == 204
    refused = await ingest.get("/v1/tickets", headers=headers)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
async def router(infra) -> AsyncIterator[Runtime]:
    settings = RouterSettings(
        database_url=infra.service_urls["router"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        sweep_interval_s=3600,
        run_consumers=False,
        _env_file=None,
    )
    app = create_router(settings)
    async with app.router.lifespan_context(app):
        yield app.state.runtime


async def _counters(runtime: Runtime, *, bump: bool = False) -> tuple[int, int]:
    async with runtime.uow().alone() as conn:
        return await bump_wake(conn, waiting=bump, room=bump)


async def test_a_commit_with_nothing_to_recheck_costs_one_statement_outside_any_transaction(router: Runtime) -> None:
    # bumped first: a sequence's first nextval leaves last_value where it was
    waiting, room = await _counters(router, bump=True)
    wake = Wake(tickets={"no-such-ticket"}, room_seen=room, waiting_seen=waiting)
    with counting() as sent:
        await wake.run(router.uow())
    assert dict(sent) == {"SELECT": 1}, f"a wake-up check with nothing to recheck sent {dict(sent)}"
    after_waiting, after_room = await _counters(router)
    assert (after_waiting, after_room) == (waiting + 1, room), "the check bumps the waiting counter, once"


async def test_a_crossing_still_rechecks_in_a_transaction(router: Runtime) -> None:
    """Room was given back since the ticket's transaction looked: the recheck runs, in a transaction."""
    waiting, room = await _counters(router)
    wake = Wake(tickets={"no-such-ticket"}, room_seen=room - 1, waiting_seen=waiting)
    with counting() as sent:
        await wake.run(router.uow())
    assert sent["BEGIN"] == 1 and sent["COMMIT"] == 1, dict(sent)
    async with router.uow() as uow:  # nothing was made of the unknown ticket
        assert await RoutingRepository(uow.session).get("no-such-ticket") is None
