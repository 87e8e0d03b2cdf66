"""All of the router's queries."""
from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.router.adapters.tables import tickets
from services.router.domain.model import RoutedTicket


class RoutingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, ticket: RoutedTicket) -> None:
        await self._session.execute(insert(tickets).values(**asdict(ticket)))

    async def get(self, ticket_id: str) -> RoutedTicket | None:
        row = (await self._session.execute(select(tickets).where(tickets.c.ticket_id == ticket_id))).mappings().first()
        return RoutedTicket(**row) if row else None

    async def waiting_in(self, queue: str) -> list[RoutedTicket]:
        rows = await self._session.execute(select(tickets).where(tickets.c.queue == queue, tickets.c.status == "waiting"))
        return [RoutedTicket(**row) for row in rows.mappings()]
