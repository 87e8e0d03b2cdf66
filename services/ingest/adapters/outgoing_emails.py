"""The queue of reply notifications waiting for the SMTP relay (a transactional outbox for mail)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import outgoing_emails


class OutgoingEmails:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def queue(
        self, *, email_id: str, ticket_id: str, message_id: str | None, recipients: list[str], raw: bytes, now: datetime
    ) -> None:
        """A mail to send as soon as the sender gets to it."""
        await self._session.execute(
            insert(outgoing_emails).values(
                id=email_id,
                ticket_id=ticket_id,
                message_id=message_id,
                recipients=recipients,
                raw=raw,
                status="queued",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    async def claim_next_due(self, now: datetime, *, lease: timedelta) -> dict[str, Any] | None:
        """The mail due longest, marked `sending` until `now + lease` and its attempt counted.

        The row is locked (one another replica holds is skipped, not waited for) only while it is
        claimed; once the claim commits, no other replica takes it before the lease ends. A mail
        left `sending` past its lease (its sender died mid-send) is taken again: at least once.
        """
        row = (
            (
                await self._session.execute(
                    select(outgoing_emails)
                    .where(
                        outgoing_emails.c.status.in_(("queued", "sending")), outgoing_emails.c.next_attempt_at <= now
                    )
                    .order_by(outgoing_emails.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        claimed = {**row, "status": "sending", "attempts": row["attempts"] + 1, "next_attempt_at": now + lease}
        await self._update(
            row["id"], status="sending", attempts=claimed["attempts"], next_attempt_at=claimed["next_attempt_at"]
        )
        return claimed

    async def mark_sent(self, email_id: str, *, now: datetime) -> None:
        await self._update(email_id, status="sent", sent_at=now, last_error=None)

    async def mark_failed_attempt(self, email_id: str, *, error: str, status: str, next_attempt_at: datetime) -> None:
        """A failed attempt: `status` is queued for a retry at `next_attempt_at`, or failed for good."""
        await self._update(email_id, last_error=error, status=status, next_attempt_at=next_attempt_at)

    async def list(self, *, ticket_id: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(outgoing_emails).order_by(outgoing_emails.c.created_at.desc()).limit(limit)
        if ticket_id:
            query = query.where(outgoing_emails.c.ticket_id == ticket_id)
        if status:
            query = query.where(outgoing_emails.c.status == status)
        return [dict(r) for r in (await self._session.execute(query)).mappings()]

    async def _update(self, email_id: str, **values: Any) -> None:
        await self._session.execute(update(outgoing_emails).where(outgoing_emails.c.id == email_id).values(**values))
