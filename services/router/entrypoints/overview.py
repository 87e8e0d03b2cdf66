"""The managers' dashboard: every queue's health and every agent's load at a glance."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request

from services.router.adapters.repository import RoutingRepository
from services.router.domain.overview import overview as overview_of
from services.router.entrypoints.deps import now
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[reject_unknown_query()])


@router.get("/overview")
async def overview(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Queue health and agent load at a glance: per queue waiting count and oldest wait, per agent status and load."""
    repo = RoutingRepository(uow.session)
    at = now(request)
    queue_names = await repo.queue_names()
    waiting = await repo.waiting_summaries()
    loads = await repo.loads()
    return asdict(overview_of(queue_names, waiting, await repo.all_agents(), loads, at))
