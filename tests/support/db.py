"""Look into any service's schema as the superuser, the way an operator would."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.stack.local import Infrastructure, admin_database_url
from shared.stack.provision import asyncpg_dsn


async def fetch(infra: Infrastructure, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(admin_database_url(infra)))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def fetchval(infra: Infrastructure, sql: str, *args: Any) -> Any:
    rows = await fetch(infra, sql, *args)
    return rows[0][0] if rows else None
