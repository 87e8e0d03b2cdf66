"""Structured logs: one JSON object per line, carrying event id, ticket id and trace id."""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict, Processor

from shared.observability.redact import redact_event
from shared.tracing import current_trace


def _add_trace(_logger: object, _name: str, event_dict: EventDict) -> EventDict:
    trace = current_trace.get()
    if trace is not None:
        event_dict.setdefault("trace_id", trace.trace_id)
    return event_dict


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Route stdlib and structlog records through one renderer on stderr."""

    def add_service(_logger: object, _name: str, event_dict: EventDict) -> EventDict:
        return {**event_dict, "service": service}

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace,
        add_service,
    ]
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                # last before rendering, so the message, every field and the traceback text are covered
                redact_event,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka is chatty at INFO about every group rejoin
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # access lines (when turned on) carry query strings; redact_event blanks credential values in them
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
