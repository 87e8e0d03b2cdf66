"""Sla's service: consumers of ticket and routing events, the timer scheduler, and the REST API for
calendars, policies, a ticket's SLA and reports. This module only assembles it."""

from __future__ import annotations

from services.sla.adapters.tables import tables
from services.sla.entrypoints import calendars, policies, reports, tickets
from services.sla.entrypoints.scheduler import run_timers
from services.sla.handlers.tickets import EVENT_HANDLERS
from services.sla.settings import SlaSettings
from shared.events import topics
from shared.messaging.consumer import Subscription
from shared.skeleton import ServiceSkeleton

# the order the routes are matched in and listed in the OpenAPI document
ROUTERS = (tickets.router, policies.router, calendars.router, reports.router)

SERVICE = ServiceSkeleton(
    "sla",
    SlaSettings,
    tables,
    subscriptions=(Subscription("sla", (topics.TICKETS, topics.ROUTING), EVENT_HANDLERS),),
    workers=(("sla-timers", run_timers),),
    routers=ROUTERS,
)
DEFINITION = SERVICE.definition
create_app = SERVICE.create_app
