"""The managers' dashboard: every queue's health and every agent's load at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.router.adapters.repository import RoutingRepository
from services.router.entrypoints.deps import now as now_of
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow

router = APIRouter(prefix="/v1", tags=["routing"])


@router.get("/overview")
async def overview(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Queue health and agent load at a glance: per queue waiting count and oldest wait, per agent status and load."""
    repo = RoutingRepository(uow.session)
    now = now_of(request)
    queues = {q.name: {"waiting": 0, "oldest_wait_seconds": 0.0} for q in await repo.all_queues()}
    for name in await repo.queues_with_waiting():
        waiting_tickets = await repo.waiting_in(name)
        queues[name] = {
            "waiting": len(waiting_tickets),
            "oldest_wait_seconds": max((now - t.waiting_since).total_seconds() for t in waiting_tickets),
        }
    loads = await repo.loads()
    agents = [
        {
            "id": a.id,
            "name": a.name,
            "team": a.team,
            "status": a.status,
            "load": loads[a.id].total,
            "capacity": a.total_capacity,
        }
        for a in await repo.all_agents()
    ]
    online = [a for a in agents if a["status"] == "online"]
    return {
        "queues": queues,
        "agents": agents,
        "online_agents": len(online),
        "online_load": sum(a["load"] for a in online),
        "online_capacity": sum(a["capacity"] for a in online),
    }
