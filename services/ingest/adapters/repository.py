"""All of ingest's queries."""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.tickets import ExternalRef, Requester
from services.ingest.adapters.tables import messages, reference_seq, tickets
from services.ingest.domain.model import Message, Ticket


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def next_reference_number(self) -> int:
        return int(await self._session.scalar(reference_seq.next_value()))

    async def add(self, ticket: Ticket) -> None:
        ref = ticket.external_ref
        await self._session.execute(
            insert(tickets).values(
                id=ticket.id,
                reference=ticket.reference,
                channel=ticket.channel,
                brand=ticket.brand,
                subject=ticket.subject,
                requester=ticket.requester.model_dump(mode="json"),
                priority=ticket.priority,
                status=ticket.status,
                language=ticket.language,
                tags=list(ticket.tags),
                custom_fields=ticket.custom_fields,
                external_source=ref.source if ref else None,
                external_id=ref.external_id if ref else None,
                created_at=ticket.created_at,
                updated_at=ticket.updated_at,
            )
        )

    async def add_message(self, message: Message) -> None:
        await self._session.execute(
            insert(messages).values(
                id=message.id,
                ticket_id=message.ticket_id,
                author_kind=message.author_kind,
                public=message.public,
                body=message.body,
                created_at=message.created_at,
            )
        )

    async def get(self, ticket_id: str) -> Ticket | None:
        row = (await self._session.execute(select(tickets).where(tickets.c.id == ticket_id))).mappings().first()
        return _to_ticket(row) if row else None

    async def messages_of(self, ticket_id: str) -> list[Message]:
        rows = await self._session.execute(
            select(messages).where(messages.c.ticket_id == ticket_id).order_by(messages.c.created_at, messages.c.id)
        )
        return [Message(**row) for row in rows.mappings()]


def _to_ticket(row) -> Ticket:  # type: ignore[no-untyped-def]
    ref = ExternalRef(source=row["external_source"], external_id=row["external_id"]) if row["external_source"] else None
    return Ticket(
        id=row["id"],
        reference=row["reference"],
        channel=row["channel"],
        brand=row["brand"],
        subject=row["subject"],
        requester=Requester.model_validate(row["requester"]),
        priority=row["priority"],
        status=row["status"],
        language=row["language"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        tags=tuple(row["tags"]),
        custom_fields=row["custom_fields"],
        external_ref=ref,
    )
