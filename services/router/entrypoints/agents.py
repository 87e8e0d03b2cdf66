"""Routes for agents: their own status and tickets, and managers' and admins' view and edits of every agent."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from services.router.adapters.agent_stream import AgentStream
from services.router.adapters.repository import RoutingRepository
from services.router.domain import admin_checks
from services.router.entrypoints.deps import agent_of, now, routing_problems
from services.router.entrypoints.schemas import AgentIn, AgentOut, RoutedTicketOut, StatusIn
from services.router.handlers import agents as agent_actions
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query
from shared.web.retry import retry_conflicts

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[reject_unknown_query()])


async def _agent_out(repo: RoutingRepository, agent_id: str) -> AgentOut:
    agent = await repo.agent(agent_id)
    if agent is None:
        raise Problem(404, f"no agent {agent_id!r}")
    load = (await repo.loads()).get(agent_id)
    return AgentOut.of(agent, dict(load.by_channel) if load else {}, load.total if load else 0)


# the /agents/me/... routes come before /agents/{agent_id}/... so that "me" is never taken for an id


@router.put("/agents/me/status", response_model=AgentOut)
@retry_conflicts
async def set_my_status(
    body: StatusIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> AgentOut:
    agent_id = agent_of(principal)
    with routing_problems():
        await agent_actions.set_status(uow, agent_id, body.status, now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.get("/agents/me/tickets", response_model=list[RoutedTicketOut])
async def my_tickets(
    request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require("agent"))
) -> list[RoutedTicketOut]:
    """Open tickets assigned (or on offer) to me, oldest first."""
    return [RoutedTicketOut.of(t) for t in await RoutingRepository(uow.session).held_by(agent_of(principal))]


@router.get("/agents/me/events", response_class=StreamingResponse)
async def my_events(request: Request, principal: Principal = Depends(require("agent"))) -> StreamingResponse:
    """My offers and assignments as they happen (server-sent events): offered, assigned, unassigned,
    offer_lapsed, from whichever replica made the change; a comment line every 15 s keeps it open."""
    stream: AgentStream = request.app.state.agent_stream
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream.sse(agent_of(principal)), media_type="text/event-stream", headers=headers)


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))) -> list[AgentOut]:
    repo = RoutingRepository(uow.session)
    loads = await repo.loads()
    return [AgentOut.of(a, dict(loads[a.id].by_channel), loads[a.id].total) for a in await repo.all_agents()]


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(
    agent_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> AgentOut:
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.get("/agents/{agent_id}/tickets", response_model=list[RoutedTicketOut])
async def agent_tickets(
    agent_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> list[RoutedTicketOut]:
    return [RoutedTicketOut.of(t) for t in await RoutingRepository(uow.session).held_by(agent_id)]


@router.put("/agents/{agent_id}", response_model=AgentOut, tags=["admin"])
@retry_conflicts
async def put_agent(
    agent_id: str,
    body: AgentIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> AgentOut:
    """Create or update an agent (a new agent starts offline); skills are levels 1..10."""
    bad = admin_checks.skill_level_problems(body.skills)
    if bad:
        raise Problem(422, "; ".join(bad), title="Invalid request")
    await agent_actions.save_agent(uow, body.to_domain(agent_id), now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
@retry_conflicts
async def set_status(
    agent_id: str,
    body: StatusIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> AgentOut:
    if principal.role == "agent" and principal.agent_id != agent_id:
        raise Problem(403, "agents set only their own status", title="Forbidden")
    with routing_problems():
        await agent_actions.set_status(uow, agent_id, body.status, now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.delete("/agents/{agent_id}", status_code=204, tags=["admin"])
async def delete_agent(
    agent_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    repo = RoutingRepository(uow.session)
    blocker = admin_checks.agent_delete_blocker(agent_id, tickets_held=len(await repo.held_by(agent_id)))
    if blocker:
        raise Problem(409, blocker)
    if not await repo.delete_agent(agent_id):
        raise Problem(404, f"no agent {agent_id!r}")
    await uow.commit()
