"""Applying a domain `Change`: give back capacity, save the ticket, stage its events in the unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.router.adapters.repository import RoutingRepository
from services.router.domain.change import Change, unassigned
from services.router.domain.model import RoutedTicket
from shared.events.base import Event
from shared.events.routing import RoutingDecisionRecorded
from shared.messaging.uow import UnitOfWork


async def keep_record(uow: UnitOfWork, repo: RoutingRepository, record: RoutingDecisionRecorded) -> None:
    """Store the decision for GET /v1/tickets/{id}/routing and publish it for any other tool."""
    await repo.record_decision(record.ticket_id, record.kind, record.model_dump(mode="json"), record.decided_at)
    uow.publish(record)


async def release(
    uow: UnitOfWork, repo: RoutingRepository, before: RoutedTicket, change: Change, now: datetime
) -> str | None:
    """Give back the capacity the ticket held, if the change says so, and tell an agent who loses it.
    Returns the agent who got capacity back (None: nobody)."""
    if not change.release:
        return None
    agent_id = await repo.release(before.ticket_id)
    if change.unassign_reason is not None:
        event = unassigned(before, agent_id, change.unassign_reason, now, change.unassign_cause)
        if event is not None:
            uow.publish(event)
    return agent_id


async def stage(uow: UnitOfWork, repo: RoutingRepository, change: Change) -> None:
    await repo.save(change.ticket)
    await stage_events(uow, repo, change.events)


async def stage_events(uow: UnitOfWork, repo: RoutingRepository, events: Iterable[Event]) -> None:
    """Publish in order; decision records are also kept as the ticket's routing history."""
    for event in events:
        if isinstance(event, RoutingDecisionRecorded):
            await keep_record(uow, repo, event)
        else:
            uow.publish(event)


async def apply(
    uow: UnitOfWork, repo: RoutingRepository, before: RoutedTicket, change: Change, now: datetime
) -> str | None:
    """Release, save, stage; returns the agent who got capacity back (for `dispatch_for`)."""
    freed = await release(uow, repo, before, change, now)
    await stage(uow, repo, change)
    return freed
