"""Sla's HTTP entrypoint: operations endpoints and its outbox relay, no consumers yet."""

from __future__ import annotations

from services.sla.adapters.tables import tables
from services.sla.settings import SlaSettings
from shared.skeleton import ServiceSkeleton

SERVICE = ServiceSkeleton("sla", SlaSettings, tables)
DEFINITION = SERVICE.definition
create_app = SERVICE.create_app
