"""The queries only live chat needs: what changed in the chats sockets follow, and the idle sweeper's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.tables import messages, tickets

#: message count, newest message time, when the chat ended
ChatSignature = tuple[int, datetime, datetime | None]


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def signatures(self, ticket_ids: list[str]) -> dict[str, ChatSignature]:
        """Per chat with messages: any change in its signature means "read again"."""
        counts = (
            await self._session.execute(
                select(messages.c.ticket_id, func.count(), func.max(messages.c.created_at))
                .where(messages.c.ticket_id.in_(ticket_ids))
                .group_by(messages.c.ticket_id)
            )
        ).all()
        ended = dict(
            (
                await self._session.execute(
                    select(tickets.c.id, tickets.c.chat_ended_at).where(tickets.c.id.in_(ticket_ids))
                )
            ).all()
        )
        return {ticket_id: (count, newest, ended.get(ticket_id)) for ticket_id, count, newest in counts}

    async def lock_unless_held(self, ticket_id: str) -> bool:
        """Lock the ticket's row for this transaction; False (at once) when someone else holds it, or it is gone."""
        locked = await self._session.scalar(
            select(tickets.c.id).where(tickets.c.id == ticket_id).with_for_update(skip_locked=True)
        )
        return locked is not None

    async def idle_chats(self, before: datetime, limit: int = 100) -> list[str]:
        """Chats not ended whose last activity was at or before `before`."""
        query = (
            select(tickets.c.id)
            .where(tickets.c.channel == "chat", tickets.c.chat_ended_at.is_(None), tickets.c.last_activity_at <= before)
            .limit(limit)
        )
        return list((await self._session.execute(query)).scalars())
