"""The wire contract: every topic, every event type and the envelope they travel in."""

from shared.events.base import Event
from shared.events.catalogue import CATALOGUE, decode, event_class
from shared.events.envelope import Envelope

__all__ = ["CATALOGUE", "Envelope", "Event", "decode", "event_class"]
