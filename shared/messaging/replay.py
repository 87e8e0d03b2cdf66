"""Send quarantined messages back to their topic, once the reason they failed is fixed.

The original bytes, key and headers go back unchanged, so the event keeps its id: consumers
that handled it before find it in their inbox and skip it; the one that dead-lettered it (its
inbox never claimed the id) handles it now. Each row is marked `replayed_at`; a replay that
fails again is dead-lettered again, as a new row with the new reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.messaging.deadletter import from_text
from shared.messaging.kafka import PLAINTEXT, KafkaSecurity, make_producer
from shared.pg import connect

COLUMNS = 'id, consumer, topic, partition, "offset", key, headers, raw, error, created_at, replayed_at'


async def dead_letters(
    admin_url: str, service: str, *, include_replayed: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    conn = await connect(admin_url)
    try:
        where = "" if include_replayed else "where replayed_at is null"
        rows = await conn.fetch(f'select {COLUMNS} from "{service}".dead_letters {where} order by id limit $1', limit)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def replay(
    admin_url: str,
    bootstrap: str,
    service: str,
    ids: list[int] | None = None,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> int:
    """Replay the given dead letters of `service` (all not yet replayed when `ids` is None)."""
    conn = await connect(admin_url)
    producer = make_producer(bootstrap, client_id=f"{service}-replay", security=security)
    await producer.start()
    try:
        query = f'select {COLUMNS} from "{service}".dead_letters where replayed_at is null'
        rows = await (
            conn.fetch(query + " and id = any($1::bigint[]) order by id", ids)
            if ids
            else conn.fetch(query + " order by id")
        )
        for row in rows:
            headers = row["headers"]
            headers = json.loads(headers) if isinstance(headers, str) else headers
            await producer.send_and_wait(
                row["topic"],
                row["raw"],
                key=from_text(row["key"]) if row["key"] else None,
                headers=[(from_text(k).decode(errors="replace"), from_text(v)) for k, v in (headers or {}).items()],
            )
            await conn.execute(
                f'update "{service}".dead_letters set replayed_at = $1 where id = $2', datetime.now(UTC), row["id"]
            )
        return len(rows)
    finally:
        await producer.stop()
        await conn.close()
