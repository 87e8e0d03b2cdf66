"""Rate-limit aiokafka's repeated log lines: during a broker outage it writes thousands a second.

The first occurrence of a message goes through; repeats of it (same logger, level and
format string, whatever the arguments) are dropped, and at most one line per interval
goes through, saying how many were dropped since the last one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

_MAX_TRACKED = 1000  # distinct format strings remembered; aiokafka has a few hundred


class RepeatFilter(logging.Filter):
    def __init__(self, interval_s: float = 5.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        # (logger, level, format string) -> [last emitted at, suppressed since]
        self._seen: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= _MAX_TRACKED:
                self._seen.clear()
            self._seen[key] = [now, 0]
            return True
        if now - seen[0] < self.interval_s:
            seen[1] += 1
            return False
        suppressed, elapsed = int(seen[1]), now - seen[0]
        seen[0], seen[1] = now, 0
        if suppressed:
            record.msg = f"{record.getMessage()} ({suppressed} similar lines suppressed in the last {elapsed:.0f} s)"
            record.args = None
        return True


def install_repeat_filter(interval_s: float, *, prefix: str = "aiokafka") -> RepeatFilter:
    """Attach one filter to every `prefix` logger (filters do not inherit, so each gets it); idempotent."""
    names = [name for name in logging.Logger.manager.loggerDict if name == prefix or name.startswith(prefix + ".")]
    existing = next(
        (f for f in logging.getLogger(prefix).filters if isinstance(f, RepeatFilter)),
        None,
    )
    shared = existing or RepeatFilter(interval_s)
    shared.interval_s = interval_s
    for name in {prefix, *names}:
        logger = logging.getLogger(name)
        if shared not in logger.filters:
            logger.addFilter(shared)
    return shared
