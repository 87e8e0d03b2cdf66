"""Escalation's HTTP entrypoint: operations endpoints and its outbox relay, no consumers yet."""

from __future__ import annotations

from services.escalation.adapters.tables import api_keys, messaging
from services.escalation.settings import EscalationSettings
from shared.clock import Clock
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app

DEFINITION = ServiceDefinition(name="escalation", tables=messaging, api_keys=api_keys)


def create_app(settings: EscalationSettings | None = None, *, clock: Clock | None = None):  # type: ignore[no-untyped-def]
    return create_service_app(DEFINITION, settings or EscalationSettings(), clock=clock)
