"""Live routes: queues, agents, SLA clocks at risk or breached today, open escalations, as of now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from services.insights.entrypoints.deps import managers, now
from services.insights.handlers import reports
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/live", tags=["live"], dependencies=[reject_unknown_query()])
LIMIT = Query(50, ge=1, le=1000, description="at most this many rows")


@router.get("/queues")
async def live_queues(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(managers)
) -> list[dict[str, Any]]:
    """Per queue: open tickets waiting for an agent, the longest current wait (since routed or handed
    back), and open tickets assigned."""
    return await reports.live_queues(uow.session, now(request))


@router.get("/agents")
async def live_agents(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(managers)) -> list[dict[str, Any]]:
    """Every agent the router announced: status, open tickets held (in total and per channel) and capacity
    (null until the router publishes it in `agent.updated`)."""
    return await reports.live_agents(uow.session)


@router.get("/sla-at-risk")
async def sla_at_risk(
    request: Request, limit: int = LIMIT, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(managers)
) -> list[dict[str, Any]]:
    """Running SLA clocks of open tickets, the soonest breach first: due instants from `sla.applied`,
    `sla.warning` and `sla.resumed`, minus clocks `sla.met`, `sla.breached` or `sla.paused`."""
    return await reports.sla_at_risk(uow.session, now(request), limit)


@router.get("/sla-breached-today")
async def sla_breached_today(
    request: Request, limit: int = LIMIT, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(managers)
) -> list[dict[str, Any]]:
    """Clocks breached since 00:00 UTC (`sla.breached`), the latest first."""
    return await reports.sla_breached_today(uow.session, now(request), limit)


@router.get("/escalations")
async def live_escalations(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(managers)
) -> list[dict[str, Any]]:
    """Open escalations (not `escalation.resolved`), oldest first, with their level and age."""
    return await reports.live_escalations(uow.session, now(request))
