"""Consumed ticket events: route new tickets, free capacity on solve, re-route on reopen,
priority change and escalation. What changes is `domain.ticket_lifecycle`'s call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.router.adapters.repository import RoutingRepository
from services.router.domain import decide, requested_agent, rule_edits, ticket_lifecycle
from services.router.domain.change import Change, unassigned
from services.router.domain.model import AgentLoad, RoutedTicket, RuleSet
from services.router.domain.rules import match_rules
from services.router.handlers.dispatch import dispatch_for, dispatch_ticket
from services.router.handlers.staging import apply, keep_record, stage, stage_events
from shared.clock import Clock
from shared.events.base import Event
from shared.events.escalation import EscalationRequested
from shared.events.routing import RoutingDecisionRecorded
from shared.events.tickets import TicketFieldsChanged, TicketPriorityChanged, TicketReceived, TicketStatusChanged
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork


async def current_rules(repo: RoutingRepository, default_queue: str) -> RuleSet:
    return await repo.ruleset() or rule_edits.no_rules_yet(default_queue)


async def on_ticket_received(event: TicketReceived, *, uow: UnitOfWork, clock: Clock, default_queue: str) -> None:
    repo = RoutingRepository(uow.session)
    now = clock.now()
    facts = decide.facts_of(event)
    match = match_rules(await current_rules(repo, default_queue), facts)
    queue = await repo.queue(match.actions.queue)
    ticket, events = decide.route(
        facts, reference=event.reference, received_at=event.received_at, match=match, queue=queue, now=now
    )
    record = next(e for e in events if isinstance(e, RoutingDecisionRecorded))
    if not await repo.add(ticket, facts, record):
        return  # already routed (a replay of an event the inbox did not know, e.g. after a restore)
    for event_ in events:  # in their order; the record is already stored with the ticket
        if event_ is record:
            uow.publish(record)
        else:
            await stage_events(uow, repo, [event_])
    await dispatch_ticket(uow, now, ticket, queue)


async def on_status_changed(event: TicketStatusChanged, *, uow: UnitOfWork, clock: Clock) -> None:
    repo = RoutingRepository(uow.session)
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    if ticket is None:
        return
    change = ticket_lifecycle.status_changed(ticket, event, now)
    if change is None:
        return
    freed = await apply(uow, repo, ticket, change, now)
    # capacity given back (a solve) serves that agent's best waiting ticket; a reopened ticket looks for an agent
    await dispatch_for(uow, now, freed)
    await dispatch_ticket(uow, now, change.ticket)


async def on_priority_changed(
    event: TicketPriorityChanged, *, uow: UnitOfWork, clock: Clock, default_queue: str
) -> None:
    """A waiting ticket is re-matched against the rules, which may send it to another queue."""
    repo = RoutingRepository(uow.session)
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    facts = await repo.facts(event.ticket_id)
    if ticket is None or facts is None:
        return
    facts = ticket_lifecycle.facts_with_priority(facts, event.new_priority)
    await repo.save_facts(ticket.ticket_id, facts)
    rematch = None
    if ticket_lifecycle.rematches_on_priority_change(ticket):
        match = match_rules(await current_rules(repo, default_queue), facts)
        rematch = (match, await repo.queue(match.actions.queue))
    change = ticket_lifecycle.reprioritise(ticket, event.new_priority, rematch=rematch, now=now)
    await apply(uow, repo, ticket, change, now)
    await dispatch_ticket(uow, now, change.ticket)


async def on_fields_changed(event: TicketFieldsChanged, *, uow: UnitOfWork) -> None:
    """Keep the facts current so a later re-route sees today's tags and fields."""
    repo = RoutingRepository(uow.session)
    facts = await repo.facts(event.ticket_id)
    if facts is not None:
        await repo.save_facts(event.ticket_id, ticket_lifecycle.facts_with_fields(facts, event))


async def on_escalation_requested(event: EscalationRequested, *, uow: UnitOfWork, clock: Clock) -> None:
    """Escalation: raise priority and/or move to another queue (e.g. tier 2), taking it from its agent;
    then the agent it names, if any, takes it when they can (`domain.requested_agent`)."""
    repo = RoutingRepository(uow.session)
    now = clock.now()
    ticket = await repo.get(event.ticket_id, for_update=True)
    if ticket is None:
        return
    change = ticket_lifecycle.escalate(ticket, event, now)
    if change is None:
        return
    freed = await apply(uow, repo, ticket, change, now)
    taken, taken_from = False, None
    if event.agent_id is not None:
        taken, taken_from = await give_to_requested(uow, repo, change.ticket, event.agent_id, now)
    if not taken:
        await dispatch_ticket(uow, now, change.ticket)
    await dispatch_for(uow, now, freed)
    await dispatch_for(uow, now, taken_from)


async def give_to_requested(
    uow: UnitOfWork, repo: RoutingRepository, ticket: RoutedTicket, agent_id: str, now: datetime
) -> tuple[bool, str | None]:
    """The named agent takes the ticket if they can now: (theirs now or already, the agent who lost it)."""
    queue = await repo.queue(ticket.queue)
    load = (await repo.loads()).get(agent_id, AgentLoad())
    decision = requested_agent.ask_for(ticket, queue, agent_id, await repo.agent(agent_id), load, now)
    if decision is None:
        return ticket.status != "done", None
    if decision.agent_id is None:
        await keep_record(uow, repo, requested_agent.not_now(ticket, decision, now))
        return False, None
    held_by = requested_agent.holder(ticket)
    handed = requested_agent.handed_over(ticket)
    theirs, event, kept = decide.assign(handed, queue, decision, now=now)
    kind = "offered" if queue.offer_mode else "assigned"
    # giving back the holder's capacity and taking the named agent's go together, or neither does
    savepoint = await uow.session.begin_nested()
    if held_by is not None:
        await repo.release(ticket.ticket_id)
    if not await repo.reserve(handed, agent_id, kind, now, log=kind == "assigned", wait=True):
        await savepoint.rollback()
        await keep_record(uow, repo, requested_agent.no_room_after_all(ticket, agent_id, now))
        return False, None
    await savepoint.commit()
    lost = unassigned(ticket, held_by, f"escalated to {agent_id}", now, "escalated")
    await stage(uow, repo, Change(ticket=theirs, events=(*([lost] if lost else []), event, kept)))
    return True, held_by


async def lock_agents_first(uow: UnitOfWork, events: Sequence[Event]) -> None:
    """A consumer batch's first step (`Subscription.prepare`): the agents its solves and escalations
    may give capacity back to, and the agents its escalations name (a reservation that waits for
    them, `give_to_requested`), locked in id order before any reservation (`lock_holders`)."""
    ticket_ids = sorted({e.ticket_id for e in events if isinstance(e, TicketStatusChanged | EscalationRequested)})
    named = sorted({e.agent_id for e in events if isinstance(e, EscalationRequested) and e.agent_id})
    await RoutingRepository(uow.session).lock_holders(ticket_ids, also=named)


EVENT_HANDLERS: dict[type[Event], Handler] = {
    TicketReceived: on_ticket_received,
    TicketStatusChanged: on_status_changed,
    TicketPriorityChanged: on_priority_changed,
    TicketFieldsChanged: on_fields_changed,
}
ESCALATION_HANDLERS: dict[type[Event], Handler] = {EscalationRequested: on_escalation_requested}
