"""CPU and memory of every process of the stack, read with psutil.

A component is a process and all its descendants, read afresh at each sample (PostgreSQL starts a
backend per connection, ingest a mail-parsing pool): the postmaster with its backends, the Kafka
broker's JVM, each service, and the benchmark's own process (load generator and simulated agents),
so what the benchmark itself costs on the shared cores is in the table too.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_and_rss(pid: int, *, exclude: frozenset[int] = frozenset(), own_only: bool = False) -> tuple[float, int]:
    """CPU seconds of the tree, those of descendants that exited and were reaped by the root included
    (a PostgreSQL backend's CPU moves into the postmaster's `children_*` times when it ends, so the sum
    never goes backwards), and the resident memory of the live processes."""
    cpu, rss = 0.0, 0
    for process in _tree(pid)[:1] if own_only else _tree(pid):
        if process.pid in exclude:
            continue
        try:
            times = process.cpu_times()
            cpu += times.user + times.system
            if process.pid == pid and not own_only:
                cpu += times.children_user + times.children_system
            rss += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return cpu, rss


@dataclass(frozen=True)
class Usage:
    cpu_pct: float  # of one core, averaged over the interval
    rss_mb: float  # at the end of the interval


class Meter:
    """Samples named process trees: `start()`, then `read()` gives each one's CPU and memory since."""

    def __init__(self, components: Mapping[str, int]) -> None:
        self.components = dict(components)
        self._start: dict[str, float] = {}
        self._at = 0.0

    def add(self, name: str, pid: int) -> None:
        self.components[name] = pid

    def _sample(self) -> dict[str, tuple[float, int]]:
        # the benchmark's own process alone: its children are the stack, and those it has stopped
        # (the services that only run while idle) were reaped by it
        return {name: _cpu_and_rss(pid, own_only=pid == os.getpid()) for name, pid in self.components.items()}

    def start(self) -> None:
        self._start = {name: cpu for name, (cpu, _) in self._sample().items()}
        self._at = time.monotonic()

    def read(self) -> dict[str, Usage]:
        elapsed = max(time.monotonic() - self._at, 1e-9)
        now = self._sample()
        return {
            name: Usage((cpu - self._start.get(name, cpu)) / elapsed * 100, rss / 2**20)
            for name, (cpu, rss) in now.items()
        }


async def idle(meter: Meter, seconds: float) -> dict[str, Usage]:
    """Each component's CPU over `seconds` of no traffic (the caller makes sure there is none)."""
    meter.start()
    await asyncio.sleep(seconds)
    return meter.read()


def stack_total(usage: Mapping[str, Usage], *, without: tuple[str, ...] = ("bench",)) -> float:
    """CPU of the whole stack, % of one core: every component but the benchmark's own process."""
    return sum(u.cpu_pct for name, u in usage.items() if name not in without)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    import platform

    freq = psutil.cpu_freq()
    return {
        "cpus": psutil.cpu_count(logical=True),
        "cpu_model": _cpu_model(),
        "cpu_mhz": round(freq.current) if freq else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None
