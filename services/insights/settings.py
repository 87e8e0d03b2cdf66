"""Insights settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import BaseServiceSettings


class InsightsSettings(BaseServiceSettings):
    service_name: str = "insights"
    http_port: int = 8005
    generation_poll_s: float = Field(
        30.0,
        gt=0,
        description="how often the projection consumer checks for a rebuild besides the rebuild's NOTIFY",
    )
    max_range_days: int = Field(400, ge=1, description="KPI ranges longer than this are refused (422)")
    max_buckets: int = Field(2000, ge=1, description="a range cut into more buckets than this is refused (422)")
    dashboard_session_secret: SecretStr | None = Field(
        None,
        description="signs the dashboard's session cookies; unset: a random one per process (sessions end on restart)",
    )
    dashboard_session_hours: float = Field(8.0, gt=0, description="a dashboard session ends this long after its login")
