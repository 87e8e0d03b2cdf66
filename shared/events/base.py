"""Base class for event payloads (the CloudEvents `data`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A fact that happened, named in the past tense.

    TYPE is the CloudEvents `type`, VERSION the payload's schema version and TOPIC
    where it is published. Consumers ignore fields they do not know, so adding a
    field is compatible; removing or changing one needs a new VERSION.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str]

    def subject_id(self) -> str:
        """The Kafka key and CloudEvents subject: the ticket (or agent) the event is about."""
        ticket_id = getattr(self, "ticket_id", None)  # events about something else override this
        if ticket_id is None:
            raise TypeError(f"{type(self).__name__} has no ticket_id: override subject_id()")
        return str(ticket_id)

    @classmethod
    def dataschema(cls) -> str:
        return f"urn:switchboard:event:{cls.TYPE}:v{cls.VERSION}"
