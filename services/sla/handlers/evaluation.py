"""Re-evaluate one ticket and act on it: save its clocks and outcomes, replace its timers, and stage
each transition not announced before. The one path every trigger (an event, a timer, a re-apply) takes,
always under the lock on the ticket's row, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.clocks import evaluate, transitions, wake_times
from services.sla.domain.model import MetricClock, SlaConfig, TicketSla, Transition
from services.sla.metrics import ANNOUNCED
from shared.events.base import Event
from shared.events.sla import (
    AppliedTarget,
    SlaApplied,
    SlaBreached,
    SlaClockStopped,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaWarning,
)
from shared.messaging.uow import UnitOfWork


async def reevaluate(uow: UnitOfWork, repo: SlaRepository, ticket_id: str, version: int, now: datetime) -> None:
    """Re-evaluate one ticket (its row locked by the caller): the same path as a timer pass's batch."""
    await reevaluate_all(uow, repo, {ticket_id: version}, now)


@dataclass(frozen=True)
class _Evaluated:
    sla: TicketSla
    history: Sequence[Event]
    config: SlaConfig
    transitions: Sequence[Transition]


async def reevaluate_all(uow: UnitOfWork, repo: SlaRepository, locked: dict[str, int], now: datetime) -> None:
    """Re-evaluate every ticket of `locked` (ticket_id -> pinned version, rows locked by the caller), each
    query once for all of them."""
    histories = await repo.histories(list(locked))
    evaluated: list[_Evaluated] = []
    due: dict[str, Sequence[datetime]] = {}
    for ticket_id, version in locked.items():
        history, config = histories[ticket_id], await repo.config(version)
        sla = evaluate(history, config, now)
        if sla is None:  # its TicketReceived has not arrived yet
            due[ticket_id] = ()
            continue
        evaluated.append(_Evaluated(sla, history, config, transitions(sla)))
        due[ticket_id] = wake_times(sla)
    await repo.save_many([e.sla for e in evaluated], now)
    await repo.replace_timers_many(due)
    claimed = await repo.claim_announcements([(e.sla.ticket_id, t.key) for e in evaluated for t in e.transitions], now)
    for e in evaluated:
        for transition in e.transitions:
            if (e.sla.ticket_id, transition.key) in claimed:
                uow.publish(announcement(e.sla, _as_it_happened(transition, e.history, e.config)))
                ANNOUNCED.labels(transition.kind).inc()


def _as_it_happened(t: Transition, history: Sequence[Event], config: SlaConfig) -> Transition:
    """The transition with its clock as of the transition's own instant: a warning found late (a busy
    scheduler, a replay) still says how much had elapsed when it was due, not when it was noticed."""
    if t.clock is None or t.clock.stopped_at is not None:
        return t
    then = evaluate(history, config, t.at)
    same = next(
        (c for c in (then.clocks if then else ()) if (c.metric, c.cycle) == (t.clock.metric, t.clock.cycle)), None
    )
    return t if same is None else t.model_copy(update={"clock": same})


def announcement(sla: TicketSla, t: Transition) -> Event:
    """The SLA event that announces transition `t` of the ticket's clocks."""
    if t.kind == "applied" or t.clock is None:
        # every target of the policy; the due instants of those whose clocks run (next reply has none yet)
        running = {c.metric: c for c in sla.clocks if c.state in ("running", "paused")}
        targets = tuple(
            AppliedTarget(
                metric=target.metric,
                target_s=target.target_s,
                business_hours=target.business_hours,
                due_at=running[target.metric].due_at if target.metric in running else None,
                warn_at=running[target.metric].warn_at if target.metric in running else None,
            )
            for target in sla.targets
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
    if t.kind == "stopped":
        return SlaClockStopped(**fields, breached=t.clock.breached_at is not None, stopped_at=t.at)
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
