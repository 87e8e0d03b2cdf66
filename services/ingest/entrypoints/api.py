"""Ingest's HTTP entrypoint."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shared.clock import Clock
from shared.messaging.uow import UnitOfWork
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app, get_runtime, get_uow
from shared.web.problems import Problem
from services.ingest.adapters.repository import TicketRepository
from services.ingest.adapters.tables import messaging
from services.ingest.entrypoints.schemas import TicketCreate, TicketOut
from services.ingest.handlers import handle_open_ticket
from services.ingest.settings import IngestSettings

DEFINITION = ServiceDefinition(name="ingest", tables=messaging)

router = APIRouter(prefix="/v1", tags=["tickets"])


@router.post("/tickets", status_code=201, response_model=TicketOut)
async def create_ticket(body: TicketCreate, request: Request, uow: UnitOfWork = Depends(get_uow)) -> TicketOut:
    """Open a ticket (channel `api` unless given); 201 once it and its events are committed."""
    settings: IngestSettings = request.app.state.settings
    ticket = await handle_open_ticket(body.to_command(), uow=uow, clock=get_runtime(request).clock, reference_prefix=settings.reference_prefix)
    await uow.commit()
    return TicketOut.of(ticket)


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
async def get_ticket(ticket_id: str, uow: UnitOfWork = Depends(get_uow)) -> TicketOut:
    repo = TicketRepository(uow.session)
    ticket = await repo.get(ticket_id)
    if ticket is None:
        raise Problem(404, f"no ticket with id {ticket_id!r}")
    return TicketOut.of(ticket, await repo.messages_of(ticket_id))


def create_app(settings: IngestSettings | None = None, *, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    return create_service_app(DEFINITION, settings or IngestSettings(), routers=[router], clock=clock)
