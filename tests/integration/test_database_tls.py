"""sslmode in DATABASE_URL against the real local PostgreSQL, which has no TLS: the modes that may fall
back to plaintext connect, and the ones that must not fail with a TLS error instead of connecting."""

from __future__ import annotations

import certifi
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import make_engine
from shared.messaging.replay import dead_letters
from shared.migrations import upgrade
from shared.pg import connect
from shared.stack.local import Infrastructure, admin_database_url

pytestmark = pytest.mark.integration
ENCRYPTED = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"


def with_tls(url: str, **params: str) -> str:
    return make_url(url).update_query_dict(params).render_as_string(hide_password=False)


async def test_the_local_server_has_no_tls(infra: Infrastructure) -> None:
    conn = await connect(infra.service_urls["sla"])
    try:
        assert await conn.fetchval("show ssl") == "off"
    finally:
        await conn.close()


@pytest.mark.parametrize("mode", ["disable", "prefer", "allow"])
async def test_modes_that_allow_plaintext_connect_on_every_path(infra: Infrastructure, mode: str) -> None:
    url = with_tls(infra.service_urls["sla"], sslmode=mode)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text(ENCRYPTED)) is False
    finally:
        await engine.dispose()
    raw = await connect(url)
    try:
        assert await raw.fetchval(ENCRYPTED) is False
    finally:
        await raw.close()
    await dead_letters(with_tls(admin_database_url(infra), sslmode=mode), "sla")  # `switchboard dead-letters`
    upgrade("sla", url)  # the migrations' own engine (already at head: it only connects and checks)


@pytest.mark.parametrize(
    "params",
    [
        {"sslmode": "require"},
        {"sslmode": "verify-ca", "sslrootcert": certifi.where()},
        {"sslmode": "verify-full", "sslrootcert": certifi.where()},
        {"ssl": "require"},
    ],
    ids=["require", "verify-ca", "verify-full", "ssl=require"],
)
async def test_modes_that_need_tls_fail_with_a_tls_error_instead_of_plaintext(
    infra: Infrastructure, params: dict[str, str]
) -> None:
    url = with_tls(infra.service_urls["sla"], **params)
    engine = make_engine(url, pool_size=1)
    try:
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            async with engine.connect() as conn:
                await conn.scalar(text("select 1"))
    finally:
        await engine.dispose()
    with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
        await connect(url)
