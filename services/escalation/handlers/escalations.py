"""The escalation lifecycle's handlers: load, call `levels.decide`, save, stage events, enqueue pages.

Every change to a ticket's escalations runs under that ticket's advisory lock, so a second
breach, a redelivery or a replica racing another folds into the escalation the first one
opened instead of opening (and paging) again. A level's decision, its router request, its
events and its notifications commit in the caller's one transaction or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.escalation.adapters import deliveries
from services.escalation.adapters.escalations import EscalationRepository, Timer
from services.escalation.domain import levels
from services.escalation.domain.levels import Acknowledge, Decision, Escalation, LevelDue, Open, Resolve
from services.escalation.domain.policy import Policy
from services.escalation.domain.triggers import Signal, matching_trigger
from shared.messaging.uow import UnitOfWork


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """The escalation is not in a state the request applies to (HTTP 409)."""


@dataclass(frozen=True)
class Outcome:
    escalation: Escalation
    opened: bool


async def on_signal(uow: UnitOfWork, signal: Signal, now: datetime, *, only: str | None = None) -> list[Outcome]:
    """Open (or fold into) an escalation under every enabled policy whose trigger matches."""
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(signal.ticket_id)
    outcomes = []
    for policy in await repo.policies():
        if only is not None and policy.id != only:
            continue
        trigger = matching_trigger(policy, signal)
        if trigger is not None:
            outcomes.append(await open_or_fold(uow, repo, policy, Open(signal, trigger, new_id()), now))
    return outcomes


async def open_or_fold(
    uow: UnitOfWork, repo: EscalationRepository, policy: Policy, given: Open, now: datetime
) -> Outcome:
    """The caller holds the ticket's lock."""
    current = await repo.open_escalation(given.signal.ticket_id, policy.id)
    if current is not None:
        policy = await repo.policy_version(policy.id, current.policy_version) or policy
    decision = levels.decide(current, policy, given, now)
    if decision.opened and decision.escalation and not await repo.insert_escalation(decision.escalation):
        # opened elsewhere between our read and insert (only without the lock): fold into that one
        return await open_or_fold(uow, repo, policy, given, now)
    await apply(uow, repo, decision, now)
    assert decision.escalation is not None
    return Outcome(decision.escalation, decision.opened)


async def escalate_by_hand(
    uow: UnitOfWork, ticket_id: str, policy: Policy, *, by: str, reason: str, level: int, now: datetime
) -> Outcome:
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(ticket_id)
    signal = Signal("manual", ticket_id, now, reason=reason, by=by)
    return await open_or_fold(uow, repo, policy, Open(signal, "manual", new_id(), start_level=level), now)


async def fire_level(uow: UnitOfWork, repo: EscalationRepository, timer: Timer, now: datetime) -> None:
    """A level's delay has passed: fire it if the escalation is still open at the level before.
    The caller holds the ticket's lock and the claimed timer."""
    await repo.delete_timer(timer.id)
    current = await repo.escalation(timer.escalation_id or "", for_update=True)
    if current is None or timer.level is None:
        return
    policy = await repo.policy_version(current.policy_id, current.policy_version)
    if policy is not None:
        await apply(uow, repo, levels.decide(current, policy, LevelDue(timer.level), now), now)


async def acknowledge(uow: UnitOfWork, escalation_id: str, *, by: str, reason: str, now: datetime) -> Escalation:
    return await _by_person(uow, escalation_id, Acknowledge(by, reason), now)


async def resolve(uow: UnitOfWork, escalation_id: str, *, by: str, reason: str, now: datetime) -> Escalation:
    return await _by_person(uow, escalation_id, Resolve(by, reason), now)


async def resolve_all(uow: UnitOfWork, ticket_id: str, *, reason: str, now: datetime) -> None:
    """The ticket is solved or closed: its escalations are over."""
    repo = EscalationRepository(uow.session)
    await repo.lock_ticket(ticket_id)
    for current in await repo.open_escalations_of(ticket_id):
        policy = await repo.policy_version(current.policy_id, current.policy_version)
        if policy is not None:
            await apply(uow, repo, levels.decide(current, policy, Resolve("system", reason), now), now)


async def _by_person(uow: UnitOfWork, escalation_id: str, given: Acknowledge | Resolve, now: datetime) -> Escalation:
    repo = EscalationRepository(uow.session)
    found = await repo.escalation(escalation_id)
    if found is None:
        raise NotFound(escalation_id)
    await repo.lock_ticket(found.ticket_id)
    current = await repo.escalation(escalation_id, for_update=True)
    policy = await repo.policy_version(found.policy_id, found.policy_version)
    assert current is not None and policy is not None
    decision = levels.decide(current, policy, given, now)
    if decision.refused:
        raise Conflict(decision.refused)
    await apply(uow, repo, decision, now)
    assert decision.escalation is not None
    return decision.escalation


async def apply(uow: UnitOfWork, repo: EscalationRepository, decision: Decision, now: datetime) -> None:
    """Save the decision: the escalation, its history, timers, events and pages, in the caller's transaction."""
    escalation = decision.escalation
    if escalation is None:
        return
    if not decision.opened:
        await repo.update_escalation(escalation)
    await repo.add_history(escalation, decision.steps)
    if decision.clear_timers:
        await repo.clear_level_timers(escalation.id)
    if decision.timer is not None:
        level, due_at = decision.timer
        timer_id = f"level:{escalation.id}:{level}"
        await repo.arm(
            Timer(timer_id, "level", escalation.ticket_id, escalation.id, escalation.policy_id, level, due_at)
        )
    for event in decision.events:
        uow.publish(event)
    for page in decision.notifications:
        await deliveries.enqueue(
            uow.session,
            channel=page.channel,
            target=page.target,
            secret=page.secret,
            event_type=levels.LEVEL_REACHED,
            payload=page.payload,
            idempotency_key=page.idempotency_key,
            now=now,
        )


def new_id() -> str:
    return str(uuid.uuid4())
