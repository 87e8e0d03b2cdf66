"""Sla settings."""

from __future__ import annotations

from shared.settings import BaseServiceSettings


class SlaSettings(BaseServiceSettings):
    service_name: str = "sla"
    http_port: int = 8003
