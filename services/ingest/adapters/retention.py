"""The queries of ingest's housekeeping (handlers/retention.py): each call is one small batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, tuple_, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import deliveries, inbound_emails, outgoing_emails


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (a DML statement's result is a CursorResult)."""
    return int(cast(CursorResult[Any], result).rowcount)


class IngestRetention:
    """Housekeeping of the tables that would only grow; each call is one small batch."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def forget_raw_mail(self, before: datetime, batch: int) -> int:
        """Drop the raw bytes of mail received before `before`; the row stays as history."""
        oldest = (
            select(inbound_emails.c.id)
            .where(inbound_emails.c.raw.is_not(None), inbound_emails.c.received_at < before)
            .limit(batch)
        )
        result = await self._session.execute(
            update(inbound_emails).where(inbound_emails.c.id.in_(oldest)).values(raw=None)
        )
        return _rowcount(result)

    async def delete_deliveries(self, before: datetime, batch: int) -> int:
        oldest = (
            select(deliveries.c.scope, deliveries.c.delivery_id).where(deliveries.c.created_at < before).limit(batch)
        )
        result = await self._session.execute(
            deliveries.delete().where(tuple_(deliveries.c.scope, deliveries.c.delivery_id).in_(oldest))
        )
        return _rowcount(result)

    async def delete_sent_emails(self, before: datetime, batch: int) -> int:
        """Sent reply notifications only: queued and failed ones stay until someone looks."""
        oldest = (
            select(outgoing_emails.c.id)
            .where(outgoing_emails.c.status == "sent", outgoing_emails.c.sent_at < before)
            .limit(batch)
        )
        result = await self._session.execute(outgoing_emails.delete().where(outgoing_emails.c.id.in_(oldest)))
        return _rowcount(result)
