"""The shared LISTEN/NOTIFY listener on the real PostgreSQL: it wakes on another session's NOTIFY, keeps
listening after its connection is killed (and while the server refuses it), and closes cleanly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from shared.messaging.notify import Backoff, Listener
from shared.pg import connect
from shared.stack.local import Infrastructure, admin_database_url
from shared.stack.ports import free_port
from tests.support.db import fetch, fetchval
from tests.support.kafka import eventually

pytestmark = pytest.mark.integration
QUICK = Backoff(first_s=0.05, max_s=0.4)


def names() -> tuple[str, str]:
    """A channel and an application name of the test's own."""
    suffix = uuid.uuid4().hex[:10]
    return f"test_channel_{suffix}", f"test-listen-{suffix}"


async def notify(url: str, channel: str, payload: str = "") -> None:
    conn = await connect(url)
    try:
        await conn.execute("select pg_notify($1, $2)", channel, payload)
    finally:
        await conn.close()


async def backends(infra: Infrastructure, application_name: str) -> list[int]:
    rows = await fetch(infra, "select pid from pg_stat_activity where application_name = $1", application_name)
    return [row["pid"] for row in rows]


async def test_it_wakes_on_a_notify_from_another_connection(infra: Infrastructure) -> None:
    url = infra.service_urls["sla"]
    channel, _ = names()
    wake = asyncio.Event()
    async with Listener(url, channel, wake):
        assert not wake.is_set()
        await notify(infra.service_urls["escalation"], channel)  # another role, too
        await asyncio.wait_for(wake.wait(), timeout=5)


async def test_a_callback_gets_every_payload_in_order(infra: Infrastructure) -> None:
    url = infra.service_urls["sla"]
    channel, _ = names()
    heard: list[str] = []
    async with Listener(url, channel, heard.append):
        for payload in ("2026-01-05T09:00:00+00:00", "second", ""):
            await notify(url, channel, payload)
        await eventually(lambda: len(heard) == 3, timeout=5, interval=0.05)
    assert heard == ["2026-01-05T09:00:00+00:00", "second", ""]


async def test_it_recovers_after_its_connection_is_terminated(infra: Infrastructure) -> None:
    url = infra.service_urls["sla"]
    channel, application_name = names()
    heard: list[str] = []
    reconnected = asyncio.Event()
    listener = Listener(
        url, channel, heard.append, on_reconnect=reconnected.set, application_name=application_name, backoff=QUICK
    )
    async with listener:
        [before] = await backends(infra, application_name)
        assert await fetchval(infra, "select pg_terminate_backend($1)", before)
        await asyncio.wait_for(reconnected.wait(), timeout=10)
        assert listener.connected
        [after] = await backends(infra, application_name)
        assert after != before
        await notify(url, channel, "after the reconnect")
        await eventually(lambda: heard == ["after the reconnect"], timeout=5, interval=0.05)


async def test_a_reconnect_sets_the_event_because_notifications_meanwhile_are_lost(infra: Infrastructure) -> None:
    channel, application_name = names()
    wake = asyncio.Event()
    async with Listener(infra.service_urls["sla"], channel, wake, application_name=application_name, backoff=QUICK):
        [pid] = await backends(infra, application_name)
        await fetchval(infra, "select pg_terminate_backend($1)", pid)
        await asyncio.wait_for(wake.wait(), timeout=10)


@pytest.fixture
async def role_url(infra: Infrastructure) -> AsyncIterator[tuple[str, str]]:
    """A login role of the test's own (so it can be locked out) and its URL."""
    role = f"test_listen_{uuid.uuid4().hex[:8]}"
    admin = await connect(admin_database_url(infra))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'listen'")
        await admin.execute(f"GRANT CONNECT ON DATABASE switchboard TO {role}")
        url = make_url(admin_database_url(infra)).set(username=role, password="listen")
        yield role, url.render_as_string(hide_password=False)
    finally:
        await admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        await admin.execute(f"REVOKE CONNECT ON DATABASE switchboard FROM {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_it_keeps_retrying_while_the_server_refuses_it_then_listens_again(
    infra: Infrastructure, role_url: tuple[str, str]
) -> None:
    role, url = role_url
    channel, application_name = names()
    wake = asyncio.Event()
    async with Listener(url, channel, wake, application_name=application_name, backoff=QUICK) as listener:
        await fetchval(infra, f"ALTER ROLE {role} NOLOGIN")
        [pid] = await backends(infra, application_name)
        await fetchval(infra, "select pg_terminate_backend($1)", pid)
        await eventually(lambda: not listener.connected, timeout=5, interval=0.05)
        await asyncio.sleep(1.0)  # several refused attempts, each after a longer wait
        assert not listener.connected and not wake.is_set()
        await fetchval(infra, f"ALTER ROLE {role} LOGIN")
        await asyncio.wait_for(wake.wait(), timeout=10)  # back, and it says so
        wake.clear()
        await notify(infra.service_urls["sla"], channel)
        await asyncio.wait_for(wake.wait(), timeout=5)


async def test_leaving_the_block_closes_its_connection(infra: Infrastructure) -> None:
    channel, application_name = names()
    async with Listener(infra.service_urls["sla"], channel, asyncio.Event(), application_name=application_name):
        assert len(await backends(infra, application_name)) == 1
    await eventually(lambda: _gone(infra, application_name), timeout=5, interval=0.05)


async def _gone(infra: Infrastructure, application_name: str) -> bool:
    return not await backends(infra, application_name)


async def test_a_first_connection_that_fails_raises_at_once(infra: Infrastructure) -> None:
    nowhere = make_url(infra.service_urls["sla"]).set(port=free_port()).render_as_string(hide_password=False)
    with pytest.raises(OSError):
        async with Listener(nowhere, "never", asyncio.Event(), timeout_s=5):
            pass
