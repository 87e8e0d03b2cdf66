"""Type name -> payload class for every event on the wire, and decoding against it."""

from __future__ import annotations

from typing import Any

from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.events.base import Event
from shared.events.deadletters import MessageDeadLettered
from shared.events.envelope import Envelope
from shared.events.escalation import (
    EscalationAcknowledged,
    EscalationLevelReached,
    EscalationOpened,
    EscalationRequested,
    EscalationResolved,
)
from shared.events.routing import (
    AgentStatusChanged,
    AgentUpdated,
    QueueUpdated,
    RoutingDecisionRecorded,
    TicketAssigned,
    TicketOfferDeclined,
    TicketOffered,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
    TicketUnassigned,
)
from shared.events.sla import SlaApplied, SlaBreached, SlaClockStopped, SlaMet, SlaPaused, SlaResumed, SlaWarning
from shared.events.tickets import (
    ChatEnded,
    MessageAdded,
    SatisfactionRated,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

_ALL: tuple[type[Event], ...] = (
    TicketReceived,
    MessageAdded,
    TicketStatusChanged,
    TicketPriorityChanged,
    TicketFieldsChanged,
    SatisfactionRated,
    ChatEnded,
    TicketRouted,
    TicketAssigned,
    TicketUnassigned,
    TicketOffered,
    TicketOfferDeclined,
    TicketQueueChanged,
    TicketPriorityRaised,
    AgentStatusChanged,
    AgentUpdated,
    QueueUpdated,
    RoutingDecisionRecorded,
    SlaApplied,
    SlaWarning,
    SlaBreached,
    SlaMet,
    SlaClockStopped,
    SlaPaused,
    SlaResumed,
    EscalationRequested,
    EscalationOpened,
    EscalationLevelReached,
    EscalationAcknowledged,
    EscalationResolved,
    ApiKeyIssued,
    ApiKeyRevoked,
    MessageDeadLettered,
)

CATALOGUE: dict[str, type[Event]] = {cls.TYPE: cls for cls in _ALL}


class UnknownEventType(ValueError):
    pass


def event_class(type_name: str) -> type[Event]:
    try:
        return CATALOGUE[type_name]
    except KeyError:
        raise UnknownEventType(f"unknown event type {type_name!r}") from None


def from_payload(type_name: str, payload: dict[str, Any]) -> Event:
    """An event stored as its type and payload (a service's own copy of what it consumed)."""
    return event_class(type_name).model_validate(payload)


def decode(envelope: Envelope) -> Event:
    """Validate `data` against the payload model its type names; raises on a mismatch."""
    cls = event_class(envelope.type)
    if envelope.schema_version > cls.VERSION:
        raise ValueError(
            f"{envelope.type} schema v{envelope.schema_version} is newer than the v{cls.VERSION} this build knows"
        )
    return cls.model_validate(envelope.data)
