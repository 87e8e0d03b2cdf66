"""Escalation's HTTP entrypoint: operations endpoints and its outbox relay, no consumers yet."""

from __future__ import annotations

from services.escalation.adapters.tables import tables
from services.escalation.settings import EscalationSettings
from shared.skeleton import ServiceSkeleton

SERVICE = ServiceSkeleton("escalation", EscalationSettings, tables)
DEFINITION = SERVICE.definition
create_app = SERVICE.create_app
