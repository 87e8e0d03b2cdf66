"""Sla settings."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings


class SlaSettings(BaseServiceSettings):
    service_name: str = "sla"
    http_port: int = 8003
    timer_batch: int = Field(500, ge=1, description="due timers claimed per transaction by the scheduler")
    timer_max_sleep_s: float = Field(
        30.0, gt=0, description="the scheduler re-checks at least this often (it is woken by new timers anyway)"
    )
    timer_coalesce_s: float = Field(
        0.1,
        ge=0,
        description="after a pass that fired, the next starts no sooner than this (real time): timers due within "
        "it share one pass (less CPU per announcement, at most this much later)",
    )
    what_if_max_tickets: int = Field(50_000, ge=1, description="what-if replays refuse larger ranges (422)")
