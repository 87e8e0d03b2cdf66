"""Router settings."""

from __future__ import annotations

from shared.settings import BaseServiceSettings


class RouterSettings(BaseServiceSettings):
    service_name: str = "router"
    http_port: int = 8002
    # where a ticket waits when no routing rule sends it elsewhere (Zendesk's "default group")
    default_queue: str = "triage"
    # offers expire, wait limits and workflow steps are checked this often
    sweep_interval_s: float = 1.0
    # this often a sweep also dispatches everything waiting: the backstop for a wake-up lost to a crash
    sweep_backstop_s: float = 10.0
    # the Prometheus gauges (queue depth, oldest wait, agents by status, free capacity) are refreshed this often
    gauges_interval_s: float = 5.0
    # decision records and the assignment log are kept this long (0: for good), purged in small batches
    decision_retention_days: float = 90.0
