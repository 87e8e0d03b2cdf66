"""API keys as ingest, their issuer, stores them (other services keep a copy from the events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import api_keys
from shared.auth.store import apply_issued, apply_revoked
from shared.events.access import ApiKeyIssued, ApiKeyRevoked


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_issued(self, event: ApiKeyIssued) -> None:
        await apply_issued(self._session, api_keys, event)

    async def record_revoked(self, event: ApiKeyRevoked) -> None:
        await apply_revoked(self._session, api_keys, event)

    async def active(self) -> list[dict[str, Any]]:
        """The keys not revoked, oldest first."""
        query = select(api_keys).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.issued_at)
        return [dict(r) for r in (await self._session.execute(query)).mappings()]

    async def is_active(self, key_id: str) -> bool:
        query = select(api_keys.c.key_id).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        return bool(await self._session.scalar(query))
