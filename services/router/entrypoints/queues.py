"""Routes for queues: their configuration, the tickets waiting in them in service order, and their health."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request

from services.router.adapters.repository import RoutingRepository
from services.router.domain.assignment import distribution_skew, waiting_order
from services.router.entrypoints.deps import now
from services.router.entrypoints.schemas import QueueIn, QueueOut, RoutedTicketOut
from services.router.handlers.dispatch import dispatch
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem

router = APIRouter(prefix="/v1", tags=["routing"])


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
    await repo.put_queue(queue, now(request))
    await dispatch(uow, now(request), [name])
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
    return [RoutedTicketOut.of(t, now=now(request), position=i + 1) for i, t in enumerate(tickets)]


@router.get("/queues/{name}/stats")
async def queue_stats(
    name: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Queue health and fairness: waiting count and oldest wait, assignments per agent in the window, skew."""
    repo = RoutingRepository(uow.session)
    queue = await repo.queue(name)
    at = now(request)
    waiting_tickets = await repo.waiting_in(name)
    counts = await repo.assignment_counts(name, at - timedelta(seconds=queue.fairness_window_s))
    return {
        "queue": name,
        "waiting": len(waiting_tickets),
        "oldest_wait_seconds": max(((at - t.waiting_since).total_seconds() for t in waiting_tickets), default=0.0),
        "window_seconds": queue.fairness_window_s,
        "assignments_by_agent": counts,
        "distribution_skew": distribution_skew(counts),
    }
