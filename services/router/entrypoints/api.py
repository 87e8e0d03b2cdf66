"""Router's REST API for agents' tools and admins; its consumers and sweeper run in the same process.

This module only assembles the service: its routes live in one module per resource.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.router.adapters.agent_stream import AgentStream
from services.router.adapters.gauges import run_gauges
from services.router.adapters.tables import api_keys, messaging
from services.router.entrypoints import agents, overview, queues, rules, tickets
from services.router.handlers.retention import run_history_retention
from services.router.handlers.sweeper import ensure_default_queue, run_sweeper
from services.router.handlers.tickets import ESCALATION_HANDLERS, EVENT_HANDLERS, lock_agents_first
from services.router.settings import RouterSettings
from shared.clock import Clock
from shared.events import topics
from shared.messaging.consumer import Subscription
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app

# the order the routes are matched in and listed in the OpenAPI document
ROUTERS = (tickets.router, agents.router, queues.router, overview.router, rules.router)


def definition(settings: RouterSettings, stream: AgentStream | None = None) -> ServiceDefinition:
    stream = stream or AgentStream()
    return ServiceDefinition(
        name="router",
        tables=messaging,
        api_keys=api_keys,
        subscriptions=(
            Subscription("router", (topics.TICKETS,), EVENT_HANDLERS, prepare=lock_agents_first),
            Subscription("router-escalations", (topics.ESCALATIONS,), ESCALATION_HANDLERS, prepare=lock_agents_first),
        ),
        dependencies=lambda runtime: {"default_queue": settings.default_queue},
        workers=(
            ("default-queue", ensure_default_queue),
            ("sweeper", run_sweeper),
            ("router-gauges", run_gauges),
            ("agent-stream", stream.run),
            ("history-retention", run_history_retention),
        ),
    )


def create_app(settings: RouterSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or RouterSettings()
    stream = AgentStream()
    app = create_service_app(definition(settings, stream), settings, routers=ROUTERS, clock=clock)
    app.state.agent_stream = stream
    return app
