"""Re-evaluate one ticket and act on it: save its clocks and outcomes, replace its timers, and stage
each transition not announced before. The one path every trigger (an event, a timer, a re-apply) takes,
always under the lock on the ticket's row, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.clocks import evaluate, transitions, wake_times
from services.sla.domain.model import MetricClock, TicketSla, Transition
from services.sla.metrics import ANNOUNCED
from shared.events.base import Event
from shared.events.sla import AppliedTarget, SlaApplied, SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarning
from shared.messaging.uow import UnitOfWork


async def reevaluate(uow: UnitOfWork, repo: SlaRepository, ticket_id: str, version: int, now: datetime) -> None:
    sla = evaluate(await repo.history(ticket_id), await repo.config(version), now)
    if sla is None:  # its TicketReceived has not arrived yet
        await repo.replace_timers(ticket_id, ())
        return
    await repo.save(sla, now)
    await repo.replace_timers(ticket_id, wake_times(sla))
    for transition in transitions(sla):
        if await repo.claim_announcement(ticket_id, transition.key, now):
            uow.publish(announcement(sla, transition))
            ANNOUNCED.labels(transition.kind).inc()


def announcement(sla: TicketSla, t: Transition) -> Event:
    """The SLA event that announces transition `t` of the ticket's clocks."""
    if t.kind == "applied" or t.clock is None:
        targets = tuple(
            AppliedTarget(
                metric=c.metric,
                target_s=c.target_s,
                business_hours=c.business_hours,
                due_at=c.due_at,
                warn_at=c.warn_at,
            )
            for c in sla.clocks
        )
        return SlaApplied(
            ticket_id=sla.ticket_id,
            policy_id=sla.policy_id or "",
            policy_name=sla.policy_name,
            config_version=sla.config_version,
            targets=targets,
            applied_at=t.at,
        )
    fields = _clock_fields(sla, t.clock)
    if t.kind == "warning":
        return SlaWarning(**fields, warned_at=t.at)
    if t.kind == "breached":
        return SlaBreached(**fields, breached_at=t.at)
    if t.kind == "met":
        return SlaMet(**fields, met_at=t.at)
    if t.kind == "paused":
        return SlaPaused(**fields, reason=t.reason or "", paused_at=t.at)
    return SlaResumed(**fields, reason=t.reason or "", resumed_at=t.at)


def _clock_fields(sla: TicketSla, clock: MetricClock) -> dict[str, Any]:
    return {
        "ticket_id": sla.ticket_id,
        "policy_id": sla.policy_id or "",
        "metric": clock.metric,
        "cycle": clock.cycle,
        "target_s": clock.target_s,
        "business_hours": clock.business_hours,
        "due_at": clock.due_at,
        "business_elapsed_s": clock.business_elapsed_s,
        "calendar_elapsed_s": clock.calendar_elapsed_s,
    }
