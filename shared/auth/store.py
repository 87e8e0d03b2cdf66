"""Reading and applying key events against a service's own `api_keys` table."""

from __future__ import annotations

import functools

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.keys import Principal
from shared.events.access import ApiKeyIssued, ApiKeyRevoked


async def apply_issued(session: AsyncSession, table: Table, event: ApiKeyIssued) -> None:
    """Idempotent: applying the same issue twice (or after the issuer wrote it) changes nothing."""
    row = event.model_dump(include={"key_id", "key_hash", "role", "name", "agent_id", "source", "issued_at"})
    await session.execute(insert(table).values(**row).on_conflict_do_nothing(index_elements=["key_id"]))


async def apply_revoked(session: AsyncSession, table: Table, event: ApiKeyRevoked) -> None:
    await session.execute(
        update(table)
        .where(table.c.key_id == event.key_id, table.c.revoked_at.is_(None))
        .values(revoked_at=event.revoked_at)
    )


async def find_active(conn: AsyncConnection, table: Table, key_hash: str) -> Principal | None:
    """The principal of an active key with this hash. One statement that needs no transaction: the
    caller may run it on an autocommit connection (`shared.auth.web` does, for every request)."""
    row = (await conn.execute(_active_key(table), {"key_hash": key_hash})).mappings().first()
    if row is None:
        return None
    return Principal(
        key_id=row["key_id"], role=row["role"], name=row["name"], agent_id=row["agent_id"], source=row["source"]
    )


@functools.cache
def _active_key(table: Table) -> Select[tuple[object, ...]]:
    # built once per table: every authenticated request runs it
    return select(table).where(table.c.key_hash == bindparam("key_hash"), table.c.revoked_at.is_(None))
