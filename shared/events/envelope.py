"""CloudEvents 1.0 envelope, JSON structured mode on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import Event

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


class Envelope(BaseModel):
    """The CloudEvents attributes plus the versioned payload in `data`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="URI-reference of the producing service, e.g. /switchboard/ingest")
    type: str = Field(min_length=1, description="e.g. switchboard.ticket.received")
    time: datetime
    subject: str = Field(min_length=1, description="the ticket id (agent id for agent events); also the Kafka key")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(min_length=1, description="urn:switchboard:event:<type>:v<version>")
    data: dict[str, Any]

    @property
    def schema_version(self) -> int:
        """The payload version carried at the end of `dataschema`."""
        tail = self.dataschema.rsplit(":v", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def wrap(event: Event, *, id: str, source: str, time: datetime) -> Envelope:
    """The envelope a producer puts around `event`; subject (and Kafka key) is its ticket id."""
    return Envelope(
        id=id,
        source=source,
        type=event.TYPE,
        time=time,
        subject=event.subject_id(),
        dataschema=event.dataschema(),
        data=event.model_dump(mode="json"),
    )
