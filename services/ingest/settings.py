"""Ingest settings: the shared ones plus the front door's own."""
from __future__ import annotations

from shared.settings import BaseServiceSettings


class IngestSettings(BaseServiceSettings):
    service_name: str = "ingest"
    http_port: int = 8001
    reference_prefix: str = "SB"
