"""Sla's HTTP entrypoint: operations endpoints and its outbox relay, no consumers yet."""

from __future__ import annotations

from services.sla.adapters.tables import api_keys, messaging
from services.sla.settings import SlaSettings
from shared.clock import Clock
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app

DEFINITION = ServiceDefinition(name="sla", tables=messaging, api_keys=api_keys)


def create_app(settings: SlaSettings | None = None, *, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    return create_service_app(DEFINITION, settings or SlaSettings(), clock=clock)
