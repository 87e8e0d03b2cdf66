"""Look into any service's schema as the superuser, the way an operator would."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def reads_of(session: AsyncSession, schema: str, table: str) -> int:
    """Scans of `schema.table` (sequential and index) that the session's open transaction made so far:
    PostgreSQL counts them per transaction, so a test can tell whether a code path read a table."""
    scans = await session.scalar(
        text(
            "select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) from pg_stat_xact_user_tables"
            " where schemaname = :schema and relname = :table"
        ),
        {"schema": schema, "table": table},
    )
    return int(scans or 0)
