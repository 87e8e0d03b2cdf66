"""Quarantine records: a message a consumer could not decode or handle."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events import topics
from shared.events.base import Event


class MessageDeadLettered(Event):
    """Kept with its raw bytes so it can be inspected and replayed; never dropped."""

    TYPE: ClassVar[str] = "switchboard.message.dead_lettered"
    TOPIC: ClassVar[str] = topics.DEAD_LETTERS

    consumer: str
    topic: str
    partition: int
    offset: int
    key: str | None = None
    error: str
    raw_base64: str = Field(description="the original Kafka value, base64")
    dead_lettered_at: datetime

    def subject_id(self) -> str:
        return self.key or f"{self.topic}/{self.partition}/{self.offset}"
