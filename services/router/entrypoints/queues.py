"""Routes for queues: their configuration, the tickets waiting in them in service order, and their health."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request

from services.router.adapters.repository import RoutingRepository
from services.router.domain import admin_checks
from services.router.domain.assignment import waiting_order
from services.router.domain.overview import WaitingSummary, fairness_window_start
from services.router.domain.overview import queue_stats as queue_stats_of
from services.router.entrypoints.deps import now
from services.router.entrypoints.schemas import QueueIn, QueueOut, RoutedTicketOut
from services.router.handlers.dispatch import dispatch
from shared.auth import Principal
from shared.auth.web import require
from shared.events.routing import QueueUpdated
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query
from shared.web.retry import retry_conflicts

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[reject_unknown_query()])


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(
    uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[QueueOut]:
    return [QueueOut.of(q) for q in await RoutingRepository(uow.session).all_queues()]


@router.put("/queues/{name}", response_model=QueueOut, tags=["admin"])
@retry_conflicts
async def put_queue(
    name: str,
    body: QueueIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> QueueOut:
    repo = RoutingRepository(uow.session)
    exists = await repo.queue_exists(body.overflow_queue) if body.overflow_queue else False
    problem = admin_checks.overflow_problem(name, body.overflow_queue, overflow_exists=exists)
    if problem:
        raise Problem(422, problem, title="Invalid request")
    queue = body.to_domain(name)
    await repo.put_queue(queue, now(request))
    uow.publish(QueueUpdated(queue=name, updated_at=now(request)))
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
async def delete_queue(
    name: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    repo = RoutingRepository(uow.session)
    waiting_now = (await repo.waiting_summaries(name)).get(name, WaitingSummary())
    blocker = admin_checks.queue_delete_blocker(name, tickets_waiting=waiting_now.count, ruleset=await repo.ruleset())
    if blocker:
        raise Problem(409, blocker)
    if not await repo.delete_queue(name):
        raise Problem(404, f"no queue {name!r}")
    uow.publish(QueueUpdated(queue=name, deleted=True, updated_at=now(request)))
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
    at = now(request)
    waiting_now = (await repo.waiting_summaries(name)).get(name, WaitingSummary())
    if not waiting_now.count and not await repo.queue_exists(name):
        raise Problem(404, f"no queue {name!r}")
    queue = await repo.queue(name)
    counts = await repo.assignment_counts(name, fairness_window_start(queue, at))
    return asdict(queue_stats_of(queue, waiting_now, counts, at))
