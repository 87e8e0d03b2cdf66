"""Router settings."""
from __future__ import annotations

from shared.settings import BaseServiceSettings


class RouterSettings(BaseServiceSettings):
    service_name: str = "router"
    http_port: int = 8002
    # where a ticket waits when no routing rule sends it elsewhere (Zendesk's "default group")
    default_queue: str = "triage"
