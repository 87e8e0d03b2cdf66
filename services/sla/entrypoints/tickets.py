"""Route for one ticket's SLA: its clocks as of now, derived from its events and its pinned configuration."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.clocks import evaluate
from services.sla.domain.model import TicketSla
from services.sla.entrypoints.deps import now, read_access
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["tickets"], dependencies=[reject_unknown_query()])


@router.get("/tickets/{ticket_id}/sla", response_model=TicketSla)
async def ticket_sla(
    ticket_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(read_access)
) -> TicketSla:
    """Per metric: the target, due instant, business and calendar time elapsed, time remaining, state and
    pauses with their reasons, as of now; with the policy and the configuration version measuring it."""
    repo = SlaRepository(uow.session)
    stored = await repo.ticket(ticket_id)
    if stored is None or stored[1] is None:
        raise Problem(404, f"no SLA for ticket {ticket_id!r} (its ticket.received event has not been seen)")
    version, _sla = stored
    sla = evaluate(await repo.history(ticket_id), await repo.config(version), now(request))
    if sla is None:
        raise Problem(404, f"no SLA for ticket {ticket_id!r}")
    return sla
