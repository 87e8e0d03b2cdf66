"""What time alone changes: a warning point or a due instant passes. Due timers are claimed with
SKIP LOCKED, so replicas share them without waiting on each other, and each ticket is re-evaluated
under its row lock (a ticket another transaction is re-evaluating is left to it; its timers stay).
Work per pass is bounded by the due timers, never by the number of open tickets.

A pass re-evaluates all its tickets together (`evaluation.reevaluate_all`: every query made once for
the whole batch: histories, saves, timers, announcement claims), so a pass costs a fixed handful of
round trips plus the domain work of each due ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.sla.adapters.repository import SlaRepository
from services.sla.handlers.evaluation import reevaluate_all
from services.sla.metrics import TIMER_LATENESS, TIMERS_FIRED
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Pass:
    claimed: int  # due timers claimed
    handled: int  # tickets re-evaluated (the rest were locked by another transaction)
    following: datetime | None = None  # the earliest timer left, as this transaction sees it


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


async def next_due(uow: UnitOfWork) -> datetime | None:
    return await SlaRepository(uow.session).next_due()
