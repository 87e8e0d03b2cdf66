"""Prometheus metrics shared by every service (one process serves one service)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

OUTBOX_PUBLISHED = Counter("switchboard_outbox_published_total", "Outbox rows published to Kafka", ["service"])
OUTBOX_RELAY_ERRORS = Counter("switchboard_outbox_relay_errors_total", "Relay passes that failed", ["service"])
MESSAGES_CONSUMED = Counter(
    "switchboard_messages_consumed_total",
    "Kafka messages taken by a consumer, by outcome (handled, duplicate, ignored, dead_lettered)",
    ["consumer", "event_type", "outcome"],
)
HANDLER_RETRIES = Counter(
    "switchboard_handler_retries_total", "Handler attempts that failed and were retried", ["consumer", "kind"]
)
HANDLER_SECONDS = Histogram(
    "switchboard_handler_seconds", "Time to handle one message, transaction included", ["consumer"]
)
HTTP_REQUESTS = Counter(
    "switchboard_http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
HTTP_REJECTED = Counter(
    "switchboard_http_rejected_total", "HTTP requests answered with a 4xx problem, by reason", ["status", "title"]
)
HTTP_SECONDS = Histogram("switchboard_http_request_seconds", "HTTP request latency", ["method", "route"])
