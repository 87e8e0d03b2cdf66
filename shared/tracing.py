"""W3C trace context carried from HTTP requests through outbox rows into Kafka headers."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        """Same trace, new span: what a hop (request, message) continues with."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.flags)


def new_trace() -> TraceContext:
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


def parse_traceparent(value: str | None) -> TraceContext | None:
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match.group(1) == "0" * 32:
        return None
    return TraceContext(match.group(1), match.group(2), match.group(3))


def continue_or_start(traceparent: str | None) -> TraceContext:
    parent = parse_traceparent(traceparent)
    return parent.child() if parent else new_trace()


current_trace: ContextVar[TraceContext | None] = ContextVar("current_trace", default=None)
