"""Router's HTTP entrypoint; its Kafka consumer runs in the same process."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from shared.auth.web import require
from shared.clock import Clock
from shared.events import topics
from shared.messaging.consumer import Subscription
from shared.messaging.uow import UnitOfWork
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app, get_uow
from shared.web.problems import Problem
from services.router.adapters.repository import RoutingRepository
from services.router.adapters.tables import api_keys, messaging
from services.router.domain.decide import waiting_order
from services.router.domain.model import RoutedTicket
from services.router.handlers import EVENT_HANDLERS
from services.router.settings import RouterSettings

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[Depends(require("agent", "manager"))])


class RoutedTicketOut(BaseModel):
    ticket_id: str
    reference: str
    channel: str
    priority: str
    status: str
    queue: str
    received_at: datetime
    routed_at: datetime
    position: int | None = None

    @classmethod
    def of(cls, ticket: RoutedTicket, position: int | None = None) -> "RoutedTicketOut":
        return cls(**{k: getattr(ticket, k) for k in cls.model_fields if k != "position"}, position=position)


@router.get("/tickets/{ticket_id}", response_model=RoutedTicketOut)
async def get_routed_ticket(ticket_id: str, uow: UnitOfWork = Depends(get_uow)) -> RoutedTicketOut:
    ticket = await RoutingRepository(uow.session).get(ticket_id)
    if ticket is None:
        raise Problem(404, f"the router has not seen ticket {ticket_id!r} (yet)")
    return RoutedTicketOut.of(ticket)


@router.get("/queues/{queue}/waiting", response_model=list[RoutedTicketOut])
async def waiting_tickets(queue: str, uow: UnitOfWork = Depends(get_uow)) -> list[RoutedTicketOut]:
    """Tickets waiting in a queue, in the order they will be served."""
    waiting = sorted(await RoutingRepository(uow.session).waiting_in(queue), key=waiting_order)
    return [RoutedTicketOut.of(t, position=i + 1) for i, t in enumerate(waiting)]


def definition(settings: RouterSettings) -> ServiceDefinition:
    return ServiceDefinition(
        name="router",
        tables=messaging,
        api_keys=api_keys,
        subscriptions=(Subscription("router", (topics.TICKETS,), EVENT_HANDLERS),),
        dependencies=lambda runtime: {"default_queue": settings.default_queue},
    )


def create_app(settings: RouterSettings | None = None, *, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    settings = settings or RouterSettings()
    return create_service_app(definition(settings), settings, routers=[router], clock=clock)
