"""The `escalation-timers` worker: fires level delays and unassigned waits when they fall due.

It sleeps until the earliest timer is due and is woken early by `NOTIFY escalation_timers`,
which every transaction that arms a timer sends on commit (from any replica), heard on a
connection of its own (`shared.messaging.notify`, which also wakes it after reconnecting); there
is no fixed tick, only a ceiling (`MAX_SLEEP_S`) as a safety net. Each due timer is claimed with
`FOR UPDATE SKIP LOCKED` in its own transaction, so replicas share the work and never fire one
twice; the level number it carries makes a late or repeated firing a no-op (see `domain.levels`).
Time, and the sleep, are the runtime's clock's: on a test's FakeClock, `advance()` wakes the worker.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from services.escalation.adapters.escalations import TIMERS_CHANNEL, EscalationRepository, Timer
from services.escalation.domain.triggers import Signal
from services.escalation.handlers.escalations import fire_level, on_signal
from services.escalation.handlers.signals import DONE
from shared.messaging.notify import Listener
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)
MAX_SLEEP_S = 60.0
RETRY_AFTER = timedelta(seconds=30)  # a timer whose handling failed is tried again this much later


async def fire_due(runtime: Runtime) -> int:
    """Fire every timer due by the runtime's clock; returns how many were handled."""
    fired = 0
    while True:
        now = runtime.clock.now()
        async with runtime.uow() as uow:
            repo = EscalationRepository(uow.session)
            timer = await repo.claim_due(now)
            if timer is None:
                return fired
            if not await repo.try_lock_ticket(timer.ticket_id):
                await uow.rollback()
                await asyncio.sleep(0.02)  # its ticket is being changed right now; claim again shortly
                continue
            try:
                await _fire(uow, repo, timer, now)
                await uow.commit()
                fired += 1
                continue
            except Exception:
                log.exception("escalation timer %s failed; retrying in %s", timer.id, RETRY_AFTER)
                await uow.rollback()
        await _postpone(runtime, timer.id, now + RETRY_AFTER)


async def _fire(uow: UnitOfWork, repo: EscalationRepository, timer: Timer, now: datetime) -> None:
    if timer.kind == "level":
        await fire_level(uow, repo, timer, now)
        return
    await repo.delete_timer(timer.id)
    facts = await repo.facts(timer.ticket_id)
    if not facts or facts["agent_id"] or facts["status"] in DONE or facts["waiting_since"] is None:
        return
    waited = int((now - facts["waiting_since"]).total_seconds())
    reason = f"waiting unassigned in {facts['queue'] or 'its queue'} for {waited} s"
    signal = Signal("unassigned_wait", timer.ticket_id, now, waited_s=waited, reason=reason)
    await on_signal(uow, signal, now, only=timer.policy_id)


async def _postpone(runtime: Runtime, timer_id: str, due_at: datetime) -> None:
    async with runtime.uow() as uow:
        await EscalationRepository(uow.session).postpone(timer_id, due_at)
        await uow.commit()


async def _next_wake(runtime: Runtime) -> datetime:
    """The earliest timer's due time, at most MAX_SLEEP_S from now."""
    async with runtime.uow() as uow:
        due = await EscalationRepository(uow.session).next_due()
    latest = runtime.clock.now() + timedelta(seconds=MAX_SLEEP_S)
    return latest if due is None else min(due, latest)


async def run_timers(runtime: Runtime, stop: asyncio.Event) -> None:
    wake = asyncio.Event()
    stopping = asyncio.ensure_future(stop.wait())
    stopping.add_done_callback(lambda _: wake.set())
    listener = Listener(
        runtime.settings.database_url, TIMERS_CHANNEL, wake, application_name=f"{runtime.definition.name}-timers"
    )
    try:
        async with listener:
            while not stop.is_set():
                wake.clear()
                await fire_due(runtime)
                await runtime.clock.sleep_until(await _next_wake(runtime), wake)
    finally:
        stopping.cancel()
