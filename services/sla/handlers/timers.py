"""What time alone changes: a warning point or a due instant passes. Due timers are claimed with
SKIP LOCKED, so replicas share them without waiting on each other, and each ticket is re-evaluated
under its row lock (a ticket another transaction is re-evaluating is left to it; its timers stay).
Work per pass is bounded by the due timers, never by the number of open tickets.

A pass re-evaluates all its tickets together: what `evaluation.reevaluate` does for one ticket, with
every query made once for the whole batch (histories, saves, timers, announcement claims), so a
pass costs a fixed handful of round trips plus the domain work of each due ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.clocks import evaluate, transitions, wake_times
from services.sla.domain.model import SlaConfig, TicketSla, Transition
from services.sla.handlers.evaluation import _as_it_happened, announcement
from services.sla.metrics import ANNOUNCED, TIMER_LATENESS, TIMERS_FIRED
from shared.events.base import Event
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Pass:
    claimed: int  # due timers claimed
    handled: int  # tickets re-evaluated (the rest were locked by another transaction)
    following: datetime | None = None  # the earliest timer left, as this transaction sees it


@dataclass(frozen=True)
class _Evaluated:
    sla: TicketSla
    history: Sequence[Event]
    config: SlaConfig
    transitions: Sequence[Transition]


async def fire_due(uow: UnitOfWork, now: datetime, limit: int) -> Pass:
    repo = SlaRepository(uow.session)
    due = await repo.claim_due(now, limit)
    if not due:
        return Pass(0, 0, await repo.next_due())
    locked = await repo.lock_tickets(ticket_id for ticket_id, _ in due)
    await reevaluate_all(uow, repo, locked, now)  # replaces the tickets' timers, claimed ones too
    for ticket_id, due_at in due:
        if ticket_id in locked:
            TIMER_LATENESS.observe(max((now - due_at).total_seconds(), 0.0))
    TIMERS_FIRED.inc(sum(1 for ticket_id, _ in due if ticket_id in locked))
    return Pass(len(due), len(locked), await repo.next_due())


async def reevaluate_all(uow: UnitOfWork, repo: SlaRepository, locked: dict[str, int], now: datetime) -> None:
    """`reevaluate` for every ticket of `locked` (ticket_id -> pinned version, rows locked by the caller)."""
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


async def next_due(uow: UnitOfWork) -> datetime | None:
    return await SlaRepository(uow.session).next_due()
