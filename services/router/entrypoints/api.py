"""Router's REST API for agents' tools and admins; its consumers and sweeper run in the same process."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request

from services.router.adapters.codec import to_json
from services.router.adapters.repository import RoutingRepository
from services.router.adapters.tables import api_keys, messaging
from services.router.domain.assignment import distribution_skew, waiting_order
from services.router.domain.model import RuleSet
from services.router.domain.rules import match_rules, validate_ruleset
from services.router.entrypoints.schemas import (
    AgentIn,
    AgentOut,
    QueueIn,
    QueueOut,
    RoutedTicketOut,
    RuleIn,
    RuleSetIn,
    RuleSetOut,
    RuleTestIn,
    StatusIn,
    TransferIn,
)
from services.router.handlers import agents as agent_actions
from services.router.handlers.dispatch import dispatch
from services.router.handlers.sweeper import ensure_default_queue, run_sweeper
from services.router.handlers.tickets import ESCALATION_HANDLERS, EVENT_HANDLERS, current_rules
from services.router.settings import RouterSettings
from shared.auth import Principal
from shared.auth.web import require
from shared.clock import Clock
from shared.events import topics
from shared.messaging.consumer import Subscription
from shared.messaging.uow import UnitOfWork
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app, get_runtime, get_uow
from shared.web.problems import Problem

router = APIRouter(prefix="/v1", tags=["routing"])


def _now(request: Request):  # type: ignore[no-untyped-def]
    return get_runtime(request).clock.now()


def _default_queue(request: Request) -> str:
    return request.app.state.settings.default_queue


async def _run(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return await action(*args, **kwargs)
    except agent_actions.NotFound as exc:
        raise Problem(404, f"no such ticket or agent: {exc}") from None
    except agent_actions.RoutingConflict as exc:
        raise Problem(409, str(exc)) from None


# --- tickets ------------------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}", response_model=RoutedTicketOut)
async def get_ticket(
    ticket_id: str,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("agent", "manager")),
) -> RoutedTicketOut:
    ticket = await RoutingRepository(uow.session).get(ticket_id)
    if ticket is None:
        raise Problem(404, f"no routed ticket {ticket_id!r}")
    return RoutedTicketOut.of(ticket, now=_now(request))


@router.get("/tickets/{ticket_id}/routing")
async def routing_history(
    ticket_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[dict]:
    """Every decision about the ticket: rule matched, candidates with scores, exclusions and why."""
    records = await RoutingRepository(uow.session).decisions_of(ticket_id)
    if not records:
        raise Problem(404, f"no routing decisions for {ticket_id!r}")
    return [r["record"] for r in records]


@router.post("/tickets/{ticket_id}/transfer", response_model=RoutedTicketOut)
async def transfer(
    ticket_id: str,
    body: TransferIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> RoutedTicketOut:
    if bool(body.agent_id) == bool(body.queue):
        raise Problem(422, "give exactly one of agent_id or queue", title="Invalid request")
    if principal.role == "agent":
        ticket = await RoutingRepository(uow.session).get(ticket_id)
        if ticket is None or ticket.agent_id != principal.agent_id:
            raise Problem(
                403, f"only the agent holding {ticket_id!r} (or a manager) may transfer it", title="Forbidden"
            )
    moved = await _run(
        agent_actions.transfer,
        uow,
        ticket_id,
        to_agent=body.agent_id,
        to_queue=body.queue,
        by=principal.agent_id or principal.name,
        now=_now(request),
    )
    await uow.commit()
    return RoutedTicketOut.of(moved, now=_now(request))


# --- offers -------------------------------------------------------------------------------------


def _agent_of(principal: Principal) -> str:
    if not principal.agent_id:
        raise Problem(403, "this needs an agent key (one bound to an agent_id)", title="Forbidden")
    return principal.agent_id


@router.post("/offers/{ticket_id}/accept", response_model=RoutedTicketOut)
async def accept(
    ticket_id: str,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> RoutedTicketOut:
    ticket = await _run(agent_actions.accept_offer, uow, ticket_id, _agent_of(principal), _now(request))
    await uow.commit()
    return RoutedTicketOut.of(ticket)


@router.post("/offers/{ticket_id}/decline", response_model=RoutedTicketOut)
async def decline(
    ticket_id: str,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> RoutedTicketOut:
    ticket = await _run(agent_actions.decline_offer, uow, ticket_id, _agent_of(principal), _now(request))
    await uow.commit()
    return RoutedTicketOut.of(ticket, now=_now(request))


# --- agents -------------------------------------------------------------------------------------


async def _agent_out(repo: RoutingRepository, agent_id: str) -> AgentOut:
    agent = await repo.agent(agent_id)
    if agent is None:
        raise Problem(404, f"no agent {agent_id!r}")
    load = (await repo.loads()).get(agent_id)
    return AgentOut.of(agent, dict(load.by_channel) if load else {}, load.total if load else 0)


@router.put("/agents/me/status", response_model=AgentOut)
async def set_my_status(
    body: StatusIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent")),
) -> AgentOut:
    agent_id = _agent_of(principal)
    await _run(agent_actions.set_status, uow, agent_id, body.status, _now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.get("/agents/me/tickets", response_model=list[RoutedTicketOut])
async def my_tickets(
    request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require("agent"))
) -> list[RoutedTicketOut]:
    """Open tickets assigned (or on offer) to me, oldest first."""
    return [RoutedTicketOut.of(t) for t in await RoutingRepository(uow.session).held_by(_agent_of(principal))]


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
async def put_agent(
    agent_id: str,
    body: AgentIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> AgentOut:
    """Create or update an agent (a new agent starts offline); skills are levels 1..10."""
    bad = [f"skills.{s}: level {v} is not 1..10" for s, v in body.skills.items() if not 1 <= v <= 10]
    if bad:
        raise Problem(422, "; ".join(bad), title="Invalid request")
    await agent_actions.save_agent(uow, body.to_domain(agent_id), _now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
async def set_status(
    agent_id: str,
    body: StatusIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> AgentOut:
    if principal.role == "agent" and principal.agent_id != agent_id:
        raise Problem(403, "agents set only their own status", title="Forbidden")
    await _run(agent_actions.set_status, uow, agent_id, body.status, _now(request))
    await uow.commit()
    return await _agent_out(RoutingRepository(uow.session), agent_id)


@router.delete("/agents/{agent_id}", status_code=204, tags=["admin"])
async def delete_agent(
    agent_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    repo = RoutingRepository(uow.session)
    if await repo.held_by(agent_id):
        raise Problem(409, f"{agent_id} still holds tickets; set them offline and transfer them first")
    if not await repo.delete_agent(agent_id):
        raise Problem(404, f"no agent {agent_id!r}")
    await uow.commit()


# --- queues -------------------------------------------------------------------------------------


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(
    uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[QueueOut]:
    return [QueueOut.of(q) for q in await RoutingRepository(uow.session).all_queues()]


@router.put("/queues/{name}", response_model=QueueOut, tags=["admin"])
async def put_queue(
    name: str,
    body: QueueIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> QueueOut:
    repo = RoutingRepository(uow.session)
    if body.overflow_queue and (body.overflow_queue == name or not await repo.queue_exists(body.overflow_queue)):
        raise Problem(
            422, f"overflow_queue: {body.overflow_queue!r} must be another existing queue", title="Invalid request"
        )
    queue = body.to_domain(name)
    await repo.lock_routing()
    await repo.put_queue(queue, _now(request))
    await dispatch(uow, _now(request), [name])
    await uow.commit()
    return QueueOut.of(queue)


@router.get("/queues/{name}", response_model=QueueOut)
async def get_queue(
    name: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> QueueOut:
    repo = RoutingRepository(uow.session)
    if not await repo.queue_exists(name):
        raise Problem(404, f"no queue {name!r}")
    return QueueOut.of(await repo.queue(name))


@router.delete("/queues/{name}", status_code=204, tags=["admin"])
async def delete_queue(name: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))) -> None:
    repo = RoutingRepository(uow.session)
    if await repo.waiting_in(name):
        raise Problem(409, f"tickets are waiting in {name}; transfer them first")
    ruleset = await repo.ruleset()
    if ruleset and name in {r.actions.queue for r in ruleset.rules} | {ruleset.default.queue}:
        raise Problem(409, f"routing rules send tickets to {name}; change the rules first")
    if not await repo.delete_queue(name):
        raise Problem(404, f"no queue {name!r}")
    await uow.commit()


@router.get("/queues/{name}/waiting", response_model=list[RoutedTicketOut])
async def waiting(
    name: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[RoutedTicketOut]:
    """Waiting tickets in the order they will be served (priority, then age), with wait and position."""
    tickets = sorted(await RoutingRepository(uow.session).waiting_in(name), key=waiting_order)
    return [RoutedTicketOut.of(t, now=_now(request), position=i + 1) for i, t in enumerate(tickets)]


@router.get("/overview")
async def overview(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Queue health and agent load at a glance: per queue waiting count and oldest wait, per agent status and load."""
    repo = RoutingRepository(uow.session)
    now = _now(request)
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


@router.get("/queues/{name}/stats")
async def queue_stats(
    name: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Queue health and fairness: waiting count and oldest wait, assignments per agent in the window, skew."""
    repo = RoutingRepository(uow.session)
    queue = await repo.queue(name)
    now = _now(request)
    waiting_tickets = await repo.waiting_in(name)
    counts = await repo.assignment_counts(name, now - timedelta(seconds=queue.fairness_window_s))
    return {
        "queue": name,
        "waiting": len(waiting_tickets),
        "oldest_wait_seconds": max(((now - t.waiting_since).total_seconds() for t in waiting_tickets), default=0.0),
        "window_seconds": queue.fairness_window_s,
        "assignments_by_agent": counts,
        "distribution_skew": distribution_skew(counts),
    }


# --- rules --------------------------------------------------------------------------------------


def _ruleset_out(ruleset: RuleSet) -> RuleSetOut:
    return RuleSetOut(version=ruleset.version, rules=to_json(list(ruleset.rules)), default=to_json(ruleset.default))


@router.get("/rules", response_model=RuleSetOut)
async def get_rules(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> RuleSetOut:
    return _ruleset_out(await current_rules(RoutingRepository(uow.session), _default_queue(request)))


def _from_body(body: RuleSetIn) -> RuleSet:
    return RuleSet(version=0, rules=tuple(r.to_domain() for r in body.rules), default=body.default.to_domain())


async def _validated(repo: RoutingRepository, ruleset: RuleSet) -> RuleSet:
    problems = validate_ruleset(ruleset, {q.name for q in await repo.all_queues()})
    if problems:
        raise Problem(422, "; ".join(problems[:10]), title="Invalid rules", errors=[{"message": p} for p in problems])
    return ruleset


@router.put("/rules", response_model=RuleSetOut, tags=["admin"])
async def put_rules(
    body: RuleSetIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Replace the rule set (ordered; first match wins; then the default). Validated, and kept as a new version."""
    return await _save_rules(RoutingRepository(uow.session), _from_body(body), principal, request, uow)


async def _save_rules(
    repo: RoutingRepository, ruleset: RuleSet, principal: Principal, request: Request, uow: UnitOfWork
) -> RuleSetOut:
    version = await repo.save_ruleset(await _validated(repo, ruleset), principal.name, _now(request))
    await uow.commit()
    return _ruleset_out(RuleSet(version=version, rules=ruleset.rules, default=ruleset.default))


@router.put("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def put_rule(
    rule_id: str,
    body: RuleIn,
    request: Request,
    position: int | None = Query(None, ge=0),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Add or replace one rule (in place, or at `position`, 0 = first); the whole set is validated and versioned."""
    if body.id != rule_id:
        raise Problem(422, f"id: {body.id!r} does not match the path's {rule_id!r}", title="Invalid request")
    repo = RoutingRepository(uow.session)
    current = await current_rules(repo, _default_queue(request))
    rules = list(current.rules)
    at = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if at is not None:
        rules.pop(at)
    index = position if position is not None else (at if at is not None else len(rules))
    rules.insert(min(index, len(rules)), body.to_domain())
    return await _save_rules(
        repo, RuleSet(version=0, rules=tuple(rules), default=current.default), principal, request, uow
    )


@router.delete("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def delete_rule(
    rule_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require("admin"))
) -> RuleSetOut:
    repo = RoutingRepository(uow.session)
    current = await current_rules(repo, _default_queue(request))
    rules = tuple(r for r in current.rules if r.id != rule_id)
    if len(rules) == len(current.rules):
        raise Problem(404, f"no rule {rule_id!r}")
    return await _save_rules(repo, RuleSet(version=0, rules=rules, default=current.default), principal, request, uow)


@router.get("/rules/versions")
async def rule_versions(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))) -> list[dict]:
    return await RoutingRepository(uow.session).ruleset_history()


@router.get("/rules/versions/{version}", response_model=RuleSetOut)
async def rule_version(
    version: int, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> RuleSetOut:
    row = await RoutingRepository(uow.session).ruleset_version(version)
    if row is None:
        raise Problem(404, f"no rule set version {version}")
    return RuleSetOut(version=row["version"], rules=row["rules"], default=row["default_actions"])


@router.post("/rules:test")
async def test_rules(
    body: RuleTestIn, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Dry-run: which rule matches this sample ticket, what it does, and why each earlier rule did not match."""
    repo = RoutingRepository(uow.session)
    ruleset = (
        await _validated(repo, _from_body(body.ruleset))
        if body.ruleset
        else await current_rules(repo, _default_queue(request))
    )
    match = match_rules(ruleset, body.ticket.to_facts())
    return {
        "rule_id": match.rule_id,
        "actions": to_json(match.actions),
        "explanation": match.explanation,
        "trace": to_json(list(match.trace)),
        "ruleset_version": ruleset.version,
    }


def definition(settings: RouterSettings) -> ServiceDefinition:
    return ServiceDefinition(
        name="router",
        tables=messaging,
        api_keys=api_keys,
        subscriptions=(
            Subscription("router", (topics.TICKETS,), EVENT_HANDLERS),
            Subscription("router-escalations", (topics.ESCALATIONS,), ESCALATION_HANDLERS),
        ),
        dependencies=lambda runtime: {"default_queue": settings.default_queue},
        workers=(("default-queue", ensure_default_queue), ("sweeper", run_sweeper)),
    )


def create_app(settings: RouterSettings | None = None, *, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    settings = settings or RouterSettings()
    return create_service_app(definition(settings), settings, routers=[router], clock=clock)
