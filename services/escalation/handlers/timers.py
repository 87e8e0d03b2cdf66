"""The `escalation-timers` worker: fires level delays and unassigned waits when they fall due.

It sleeps until the earliest timer is due and is woken early by `NOTIFY escalation_timers`,
which every transaction that arms a timer sends on commit (from any replica); there is no fixed
tick, only a ceiling (`MAX_SLEEP_S`) in case a notification is lost while reconnecting. Each
due timer is claimed with `FOR UPDATE SKIP LOCKED` in its own transaction, so replicas share
the work and never fire one twice; the level number it carries makes a late or repeated
firing a no-op (see `domain.levels`). Time is the runtime's clock (a FakeClock in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from services.escalation.adapters.escalations import TIMERS_CHANNEL, EscalationRepository, Timer
from services.escalation.domain.triggers import Signal
from services.escalation.handlers.escalations import fire_level, on_signal
from services.escalation.handlers.signals import DONE
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


async def _seconds_to_next(runtime: Runtime) -> float:
    async with runtime.uow() as uow:
        due = await EscalationRepository(uow.session).next_due()
    if due is None:
        return MAX_SLEEP_S
    return min(max((due - runtime.clock.now()).total_seconds(), 0.0), MAX_SLEEP_S)


async def run_timers(runtime: Runtime, stop: asyncio.Event) -> None:
    wake = asyncio.Event()

    def notified(*_: object) -> None:
        wake.set()

    async with runtime.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        listener = raw.driver_connection
        assert listener is not None
        await listener.add_listener(TIMERS_CHANNEL, notified)
        try:
            while not stop.is_set():
                wake.clear()
                await fire_due(runtime)
                timeout = await _seconds_to_next(runtime)
                if timeout <= 0:
                    continue
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(TIMERS_CHANNEL, notified)
