"""Keep the local stack's service processes running: restart one that dies, with back-off.

A service that exits on its own (a crash, SIGKILL, the OOM killer) is logged with its
exit code and started again after a delay that doubles with each quick failure (1 s,
2 s, ... up to 30 s) and starts over once a run has lasted `reset_after_s`. Only the
caller stops everything (`switchboard up` does on Ctrl-C or SIGTERM). The clock and
the wait are injected, so the policy is tested without processes or sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class Child(Protocol):
    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 1.0
    maximum_s: float = 30.0
    reset_after_s: float = 60.0

    def next_delay(self, previous_s: float | None, uptime_s: float) -> float:
        """Delay before the next start, given the previous delay and how long the last run lasted."""
        if previous_s is None or uptime_s >= self.reset_after_s:
            return self.initial_s
        return min(previous_s * 2, self.maximum_s)


@dataclass
class _Slot:
    start: Callable[[], Child]
    child: Child | None = None
    started_at: float = 0.0
    delay_s: float | None = None  # the last back-off used; None until the first failure
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    def __init__(
        self,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._notify = notify or (lambda message: None)
        self._slots: dict[str, _Slot] = {}

    def adopt(self, name: str, child: Child, start: Callable[[], Child]) -> None:
        """Supervise an already running `child`; `start` makes a replacement."""
        self._slots[name] = _Slot(start, child, self._clock())

    def current(self, name: str) -> Child | None:
        return self._slots[name].child

    def restarts(self, name: str) -> int:
        return self._slots[name].restarts

    def tick(self) -> None:
        """Notice exits and start whatever is due; call it every fraction of a second."""
        now = self._clock()
        for name, slot in self._slots.items():
            if slot.child is not None:
                code = slot.child.poll()
                if code is None:
                    continue
                slot.child = None
                self._schedule(name, slot, now, f"exited with code {code}")
            if slot.restart_at is not None and now >= slot.restart_at:
                self._restart(name, slot, now)

    def run(self, wait: Callable[[float], bool], interval_s: float = 0.5) -> None:
        """Tick until `wait(interval_s)` returns True (e.g. `threading.Event.wait` of a stop event)."""
        while not wait(interval_s):
            self.tick()

    def stop_all(self) -> None:
        for slot in self._slots.values():
            slot.restart_at = None
            if slot.child is not None:
                slot.child.stop()
                slot.child = None

    def _schedule(self, name: str, slot: _Slot, now: float, what: str) -> None:
        uptime = now - slot.started_at
        slot.delay_s = self.backoff.next_delay(slot.delay_s, uptime)
        slot.restart_at = now + slot.delay_s
        message = f"{name} {what} after {uptime:.1f} s; restarting in {slot.delay_s:.0f} s"
        log.warning(message)
        self._notify(message)

    def _restart(self, name: str, slot: _Slot, now: float) -> None:
        slot.restart_at = None
        slot.started_at = now
        slot.restarts += 1
        try:
            slot.child = slot.start()
        except Exception as exc:  # could not even spawn it: same back-off as a crash
            self._schedule(name, slot, now, f"did not start ({type(exc).__name__}: {exc})")
            return
        message = f"{name} restarted (pid {slot.child.pid}, restart {slot.restarts})"
        log.info(message)
        self._notify(message)
