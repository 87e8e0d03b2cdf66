"""Every Kafka topic the system uses; no topic name is spelled anywhere else."""

from __future__ import annotations

TICKETS = "switchboard.tickets.v1"
ROUTING = "switchboard.routing.v1"
DEAD_LETTERS = "switchboard.deadletters.v1"
ACCESS = "switchboard.access.v1"
ESCALATIONS = "switchboard.escalations.v1"
SLA = "switchboard.sla.v1"

ALL_TOPICS: tuple[str, ...] = (TICKETS, ROUTING, SLA, ESCALATIONS, ACCESS, DEAD_LETTERS)
