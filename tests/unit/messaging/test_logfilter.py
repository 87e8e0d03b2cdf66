"""aiokafka's repeated error lines are rate-limited: the first goes through, then one per interval with a count."""

from __future__ import annotations

import logging

from shared.messaging.logfilter import RepeatFilter, install_repeat_filter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, name: str = "aiokafka.conn", level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_first_line_passes_repeats_are_counted_and_one_line_per_interval_reports_them() -> None:
    clock = Clock()
    limiter = RepeatFilter(5.0, clock=clock)
    template = "Unable connect to node with id %s: %r"
    passed = []
    for i in range(1000):  # 10 seconds of a flood: one line every 10 ms
        clock.now = i * 0.01
        record = _record(template, 1, ConnectionRefusedError(i))
        if limiter.filter(record):
            passed.append((clock.now, record.getMessage()))
    assert [t for t, _ in passed] == [0.0, 5.0]
    assert passed[0][1] == "Unable connect to node with id 1: ConnectionRefusedError(0)"
    assert passed[1][1] == (
        "Unable connect to node with id 1: ConnectionRefusedError(500) (499 similar lines suppressed in the last 5 s)"
    )


def test_different_messages_loggers_and_levels_are_limited_separately() -> None:
    clock = Clock()
    limiter = RepeatFilter(5.0, clock=clock)
    assert limiter.filter(_record("a %s", 1))
    assert limiter.filter(_record("b %s", 1))
    assert limiter.filter(_record("a %s", 1, name="aiokafka.client"))
    assert limiter.filter(_record("a %s", 1, level=logging.WARNING))
    assert not limiter.filter(_record("a %s", 2))


def test_a_line_after_a_quiet_interval_passes_without_a_count() -> None:
    clock = Clock()
    limiter = RepeatFilter(5.0, clock=clock)
    assert limiter.filter(_record("a"))
    clock.now = 7.0
    record = _record("a")
    assert limiter.filter(record)
    assert record.getMessage() == "a"


def test_installing_puts_one_filter_on_every_aiokafka_logger_once() -> None:
    import aiokafka.conn  # noqa: F401  # the logger that floods during an outage

    first = install_repeat_filter(5.0)
    second = install_repeat_filter(2.0)
    assert first is second and first.interval_s == 2.0
    conn = logging.getLogger("aiokafka.conn")
    assert conn.filters.count(first) == 1
    assert first in logging.getLogger("aiokafka").filters
    assert first not in logging.getLogger("shared").filters
