"""Consumed ticket events: route new tickets, free capacity on solve, re-route on reopen,
priority change and escalation."""

from __future__ import annotations

from dataclasses import replace

from services.router.adapters.repository import RoutingRepository
from services.router.domain import decide, rule_edits
from services.router.domain.model import RoutedTicket, RuleSet
from services.router.domain.rules import match_rules
from services.router.handlers.dispatch import dispatch, keep_record
from shared.clock import Clock
from shared.events.escalation import EscalationRequested
from shared.events.routing import TicketRouted, TicketUnassigned
from shared.events.tickets import TicketFieldsChanged, TicketPriorityChanged, TicketReceived, TicketStatusChanged
from shared.messaging.uow import UnitOfWork


async def current_rules(repo: RoutingRepository, default_queue: str) -> RuleSet:
    return await repo.ruleset() or rule_edits.no_rules_yet(default_queue)


async def on_ticket_received(event: TicketReceived, *, uow: UnitOfWork, clock: Clock, default_queue: str) -> None:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    now = clock.now()
    facts = decide.facts_of(event)
    match = match_rules(await current_rules(repo, default_queue), facts)
    queue = await repo.queue(match.actions.queue)
    ticket, routed, record = decide.route(
        facts, reference=event.reference, received_at=event.received_at, match=match, queue=queue, now=now
    )
    if not await repo.add(ticket, facts):
        return  # already routed (a replay of an event the inbox did not know, e.g. after a restore)
    uow.publish(routed)
    await keep_record(uow, repo, record)
    await dispatch(uow, now, [ticket.queue])


async def release_and_unassign(
    uow: UnitOfWork, repo: RoutingRepository, ticket: RoutedTicket, reason: str, now
) -> None:  # type: ignore[no-untyped-def]
    """Give back the capacity the ticket held and say so when an agent loses it."""
    agent_id = await repo.release(ticket.ticket_id)
    if agent_id and ticket.status == "assigned":
        uow.publish(TicketUnassigned(ticket_id=ticket.ticket_id, agent_id=agent_id, reason=reason, unassigned_at=now))


async def on_status_changed(event: TicketStatusChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    if ticket is None:
        return
    if event.new_status in ("solved", "closed"):
        if ticket.status == "done":
            return
        # solved tickets free the agent's capacity; the agent stays "previous" for affinity on reopen
        await repo.release(ticket.ticket_id)
        await repo.save(
            replace(
                ticket,
                status="done",
                previous_agent_id=ticket.agent_id or ticket.previous_agent_id,
                agent_id=None,
                offer_expires_at=None,
            )
        )
        await dispatch(uow, now)
    elif ticket.status == "done":
        reopened = decide.requeue(ticket, now=now)
        await repo.save(reopened)
        uow.publish(
            TicketRouted(
                ticket_id=ticket.ticket_id,
                queue=reopened.queue,
                priority=reopened.priority,
                rule=ticket.rule_id,
                reason=f"reopened ({event.old_status} -> {event.new_status})",
                routed_at=now,
            )
        )
        await keep_record(
            uow, repo, decide.record("requeue", reopened, reason="reopened; previous agent preferred", now=now)
        )
        await dispatch(uow, now, [reopened.queue])


async def on_priority_changed(
    event: TicketPriorityChanged, *, uow: UnitOfWork, clock: Clock, default_queue: str
) -> None:
    """A waiting ticket is re-matched against the rules, which may send it to another queue."""
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    facts = await repo.facts(event.ticket_id)
    if ticket is None or facts is None:
        return
    facts = replace(facts, priority=event.new_priority)
    await repo.save_facts(ticket.ticket_id, facts)
    ticket = replace(ticket, priority=event.new_priority)
    if ticket.status == "waiting":
        match = match_rules(await current_rules(repo, default_queue), facts)
        queue = await repo.queue(match.actions.queue)
        ticket = replace(
            ticket, priority=decide.higher(match.actions.priority or event.new_priority, queue.default_priority)
        )
        if queue.name != ticket.queue:
            ticket, moved = decide.move(
                ticket, queue.name, f"priority now {event.new_priority}: {match.explanation}", now=now
            )
            uow.publish(moved)
            await keep_record(uow, repo, decide.record("route", ticket, reason=match.explanation, match=match, now=now))
    await repo.save(ticket)
    await dispatch(uow, now, [ticket.queue])


async def on_fields_changed(event: TicketFieldsChanged, *, uow: UnitOfWork) -> None:
    """Keep the facts current so a later re-route sees today's tags and fields."""
    repo = RoutingRepository(uow.session)
    facts = await repo.facts(event.ticket_id)
    if facts is not None:
        await repo.save_facts(
            event.ticket_id, replace(facts, tags=tuple(event.tags), custom_fields=dict(event.custom_fields))
        )


async def on_escalation_requested(event: EscalationRequested, *, uow: UnitOfWork, clock: Clock) -> None:
    """Escalation: raise priority and/or move to another queue (e.g. tier 2), taking it from its agent."""
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    if ticket is None or ticket.status == "done":
        return
    if event.priority:
        ticket = replace(ticket, priority=decide.higher(event.priority, ticket.priority))
    if event.to_queue and event.to_queue != ticket.queue:
        await release_and_unassign(uow, repo, ticket, f"escalated to {event.to_queue}: {event.reason}", now)
        ticket, moved = decide.move(ticket, event.to_queue, f"escalated: {event.reason}", now=now)
        uow.publish(moved)
        await keep_record(uow, repo, decide.record("transfer", ticket, reason=f"escalated: {event.reason}", now=now))
    await repo.save(ticket)
    await dispatch(uow, now, [ticket.queue])


EVENT_HANDLERS = {
    TicketReceived: on_ticket_received,
    TicketStatusChanged: on_status_changed,
    TicketPriorityChanged: on_priority_changed,
    TicketFieldsChanged: on_fields_changed,
}
ESCALATION_HANDLERS = {EscalationRequested: on_escalation_requested}
