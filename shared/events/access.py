"""API-key events: ingest issues keys, every service keeps its own copy of the key table."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events import topics
from shared.events.base import Event

Role = Literal["admin", "manager", "agent", "platform"]


class ApiKeyIssued(Event):
    """Only the SHA-256 of the key travels; the key itself is shown once, to whoever created it."""

    TYPE: ClassVar[str] = "switchboard.access.api_key_issued"
    TOPIC: ClassVar[str] = topics.ACCESS

    key_id: str
    key_hash: str = Field(description="sha256 hex of the secret key")
    role: Role
    name: str
    agent_id: str | None = Field(None, description="agent keys: the agent they act as")
    source: str | None = Field(None, description="platform keys: the one source they may post to")
    issued_at: datetime

    def subject_id(self) -> str:
        return self.key_id


class ApiKeyRevoked(Event):
    TYPE: ClassVar[str] = "switchboard.access.api_key_revoked"
    TOPIC: ClassVar[str] = topics.ACCESS

    key_id: str
    revoked_at: datetime

    def subject_id(self) -> str:
        return self.key_id
