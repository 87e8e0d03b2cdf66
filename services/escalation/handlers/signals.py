"""Consumed events -> ticket facts and signals -> escalations.

SLA warnings and breaches, customer messages (keywords), new tickets (VIP, tier, keywords),
reopens (counted here), bad CSAT ratings and unassigned waits become `Signal`s for
`escalations.on_signal`. A solved or closed ticket resolves its escalations. The router's
`queue.updated` keeps `known_queues`, which policy validation checks queues against.
A ticket that waits unassigned arms a durable timer per policy with an `unassigned_wait`
trigger; an assignment clears them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.escalation.adapters.escalations import EscalationRepository, Timer
from services.escalation.domain.triggers import Signal
from services.escalation.handlers.escalations import on_signal, resolve_all
from shared.clock import Clock
from shared.events.base import Event
from shared.events.routing import QueueUpdated, TicketAssigned, TicketQueueChanged, TicketRouted, TicketUnassigned
from shared.events.sla import SlaBreached, SlaWarning
from shared.events.tickets import (
    MessageAdded,
    SatisfactionRated,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork

DONE = ("solved", "closed")


async def on_sla_warning(event: SlaWarning, *, uow: UnitOfWork, clock: Clock) -> None:
    reason = f"SLA {event.metric} warning: due {_when(event.due_at)}"
    await on_signal(
        uow, Signal("sla_warning", event.ticket_id, event.warned_at, metric=event.metric, reason=reason), clock.now()
    )


async def on_sla_breached(event: SlaBreached, *, uow: UnitOfWork, clock: Clock) -> None:
    reason = f"SLA {event.metric} breached at {_when(event.breached_at)}"
    signal = Signal("sla_breached", event.ticket_id, event.breached_at, metric=event.metric, reason=reason)
    await on_signal(uow, signal, clock.now())


async def on_ticket_received(event: TicketReceived, *, uow: UnitOfWork, clock: Clock) -> None:
    now = clock.now()
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(event.ticket_id)
    who = event.requester
    await repo.note_facts(event.ticket_id, now, priority=event.priority, vip=who.vip, tier=who.tier, status="new")
    signal = Signal(
        "ticket_received",
        event.ticket_id,
        event.received_at,
        text=f"{event.subject}\n{event.body_preview}",
        vip=who.vip,
        tier=who.tier,
        reason=f"new ticket {event.reference}"
        + (" from a VIP" if who.vip else "")
        + (f" (tier {who.tier})" if who.tier else ""),
    )
    await on_signal(uow, signal, now)


async def on_message_added(event: MessageAdded, *, uow: UnitOfWork, clock: Clock) -> None:
    if event.author_kind != "customer" or not event.public or not event.body_preview:
        return
    reason = "customer message " + event.message_id
    await on_signal(
        uow, Signal("message", event.ticket_id, event.added_at, text=event.body_preview, reason=reason), clock.now()
    )


async def on_status_changed(event: TicketStatusChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    now = clock.now()
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(event.ticket_id)
    if event.new_status in DONE:
        await repo.note_facts(event.ticket_id, now, status=event.new_status, agent_id=None)
        await repo.clear_unassigned_timers(event.ticket_id)
        await resolve_all(uow, event.ticket_id, reason=f"ticket {event.new_status}", now=now)
    elif event.old_status in DONE:
        count = await repo.count_reopen(event.ticket_id, now, event.new_status)
        reason = f"ticket reopened ({count} time{'s' if count != 1 else ''})"
        await on_signal(
            uow, Signal("reopened", event.ticket_id, event.changed_at, reopen_count=count, reason=reason), now
        )
    else:
        await repo.note_facts(event.ticket_id, now, status=event.new_status)


async def on_priority_changed(event: TicketPriorityChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    await EscalationRepository(uow.session).note_facts(event.ticket_id, clock.now(), priority=event.new_priority)


async def on_satisfaction_rated(event: SatisfactionRated, *, uow: UnitOfWork, clock: Clock) -> None:
    if event.rating != "bad":
        return
    reason = "bad CSAT rating" + (f": {event.comment[:200]}" if event.comment else "")
    await on_signal(uow, Signal("bad_csat", event.ticket_id, event.rated_at, reason=reason), clock.now())


async def on_ticket_routed(event: TicketRouted, *, uow: UnitOfWork, clock: Clock) -> None:
    now = clock.now()
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(event.ticket_id)
    facts = await repo.facts(event.ticket_id)
    if facts is not None and facts["agent_id"] is not None:
        await repo.note_facts(event.ticket_id, now, queue=event.queue)
        return
    await repo.note_facts(event.ticket_id, now, queue=event.queue, waiting_since=now)
    await arm_unassigned(repo, event.ticket_id, now)


async def on_queue_changed(event: TicketQueueChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    await EscalationRepository(uow.session).note_facts(event.ticket_id, clock.now(), queue=event.to_queue)


async def on_assigned(event: TicketAssigned, *, uow: UnitOfWork, clock: Clock) -> None:
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(event.ticket_id)
    await repo.note_facts(event.ticket_id, clock.now(), agent_id=event.agent_id, queue=event.queue)
    await repo.clear_unassigned_timers(event.ticket_id)


async def on_unassigned(event: TicketUnassigned, *, uow: UnitOfWork, clock: Clock) -> None:
    now = clock.now()
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(event.ticket_id)
    if event.cause in DONE:
        await repo.note_facts(event.ticket_id, now, agent_id=None)
        return
    await repo.note_facts(event.ticket_id, now, agent_id=None, waiting_since=now)
    await arm_unassigned(repo, event.ticket_id, now)


async def on_queue_updated(event: QueueUpdated, *, uow: UnitOfWork) -> None:
    await EscalationRepository(uow.session).learn_queue(event.queue, deleted=event.deleted, updated_at=event.updated_at)


async def arm_unassigned(repo: EscalationRepository, ticket_id: str, now: datetime) -> None:
    """One timer per policy that escalates on waiting unassigned, due at its shortest wait."""
    for policy in await repo.policies():
        waits = [t.wait_s for t in policy.triggers if t.kind == "unassigned_wait" and t.wait_s > 0]
        if policy.enabled and waits:
            due = now + timedelta(seconds=min(waits))
            timer = Timer(f"unassigned:{ticket_id}:{policy.id}", "unassigned", ticket_id, None, policy.id, None, due)
            await repo.arm(timer, reset=True)


def _when(at: datetime | None) -> str:
    return at.isoformat() if at else "unknown"


SLA_HANDLERS: dict[type[Event], Handler] = {SlaWarning: on_sla_warning, SlaBreached: on_sla_breached}
TICKET_HANDLERS: dict[type[Event], Handler] = {
    TicketReceived: on_ticket_received,
    MessageAdded: on_message_added,
    TicketStatusChanged: on_status_changed,
    TicketPriorityChanged: on_priority_changed,
    SatisfactionRated: on_satisfaction_rated,
}
ROUTING_HANDLERS: dict[type[Event], Handler] = {
    TicketRouted: on_ticket_routed,
    TicketQueueChanged: on_queue_changed,
    TicketAssigned: on_assigned,
    TicketUnassigned: on_unassigned,
    QueueUpdated: on_queue_updated,
}
