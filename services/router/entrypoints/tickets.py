"""Routes for routed tickets: state, routing history, transfers, and offers an agent accepts or declines."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.router.adapters.repository import RoutingRepository
from services.router.entrypoints.deps import TicketKey, agent_of, now, routing_problems, ticket_id_of
from services.router.entrypoints.schemas import RoutedTicketOut, TransferIn
from services.router.handlers import agents as agent_actions
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query
from shared.web.retry import retry_conflicts

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[reject_unknown_query()])


@router.get("/tickets/{ticket_id}", response_model=RoutedTicketOut)
async def get_ticket(
    ticket_id: TicketKey,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("agent", "manager")),
) -> RoutedTicketOut:
    ticket = await RoutingRepository(uow.session).get(await ticket_id_of(uow, ticket_id))
    if ticket is None:
        raise Problem(404, f"no routed ticket {ticket_id!r}")
    return RoutedTicketOut.of(ticket, now=now(request))


@router.get("/tickets/{ticket_id}/routing")
async def routing_history(
    ticket_id: TicketKey, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[dict]:
    """Every decision about the ticket: rule matched, candidates with scores, exclusions and why."""
    records = await RoutingRepository(uow.session).decisions_of(await ticket_id_of(uow, ticket_id))
    if not records:
        raise Problem(404, f"no routing decisions for {ticket_id!r}")
    return [r["record"] for r in records]


@router.post("/tickets/{ticket_id}/transfer", response_model=RoutedTicketOut)
@retry_conflicts
async def transfer(
    ticket_id: TicketKey,
    body: TransferIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> RoutedTicketOut:
    if bool(body.agent_id) == bool(body.queue):
        raise Problem(422, "give exactly one of agent_id or queue", title="Invalid request")
    ticket_id = await ticket_id_of(uow, ticket_id)
    if principal.role == "agent":
        ticket = await RoutingRepository(uow.session).get(ticket_id)
        if ticket is None or ticket.agent_id != principal.agent_id:
            raise Problem(
                403, f"only the agent holding {ticket_id!r} (or a manager) may transfer it", title="Forbidden"
            )
    with routing_problems():
        try:
            moved = await agent_actions.transfer(
                uow,
                ticket_id,
                to_agent=body.agent_id,
                to_queue=body.queue,
                by=principal.agent_id or principal.name,
                now=now(request),
                allow_same_agent=body.allow_same_agent,
            )
        except agent_actions.UnknownQueue:
            raise Problem(
                422,
                f"queue: no queue {body.queue!r}",
                title="Invalid request",
                errors=[{"field": "queue", "message": f"no queue {body.queue!r}"}],
            ) from None
    await uow.commit()
    return RoutedTicketOut.of(moved, now=now(request))


@router.post("/offers/{ticket_id}/accept", response_model=RoutedTicketOut)
@retry_conflicts
async def accept(
    ticket_id: TicketKey,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> RoutedTicketOut:
    agent_id = agent_of(principal)
    ticket_id = await ticket_id_of(uow, ticket_id)
    with routing_problems():
        ticket = await agent_actions.accept_offer(uow, ticket_id, agent_id, now(request))
    await uow.commit()
    return RoutedTicketOut.of(ticket)


@router.post("/offers/{ticket_id}/decline", response_model=RoutedTicketOut)
@retry_conflicts
async def decline(
    ticket_id: TicketKey,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> RoutedTicketOut:
    agent_id = agent_of(principal)
    ticket_id = await ticket_id_of(uow, ticket_id)
    with routing_problems():
        ticket = await agent_actions.decline_offer(uow, ticket_id, agent_id, now(request))
    await uow.commit()
    return RoutedTicketOut.of(ticket, now=now(request))
