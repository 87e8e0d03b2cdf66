"""The sla service's own Prometheus metrics (served on /metrics with the shared ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ANNOUNCED = Counter("switchboard_sla_announced_total", "SLA events staged for publishing, by kind", ["kind"])
TIMERS_FIRED = Counter("switchboard_sla_timers_fired_total", "Due timers the scheduler claimed and handled")
TIMER_LATENESS = Histogram(
    "switchboard_sla_timer_lateness_seconds",
    "How long after its due instant a timer was handled",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
