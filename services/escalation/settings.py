"""Escalation settings."""

from __future__ import annotations

from shared.settings import BaseServiceSettings


class EscalationSettings(BaseServiceSettings):
    service_name: str = "escalation"
    http_port: int = 8004
