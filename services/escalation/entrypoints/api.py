"""Escalation's HTTP entrypoint: assembles the service from its routes, consumers and workers.

Each resource adds its router to ROUTERS, each consumer its Subscription to SUBSCRIPTIONS and
each long-running job its (name, worker) to WORKERS; nothing else here changes.
"""

from __future__ import annotations

from services.escalation.adapters.tables import tables
from services.escalation.domain.deliveries import fanned_out_topics, withheld_because
from services.escalation.entrypoints import deliveries, subscriptions
from services.escalation.entrypoints import escalations as escalation_routes
from services.escalation.entrypoints import policies as policy_routes
from services.escalation.handlers.deliveries import fan_out, run_delivery_worker
from services.escalation.handlers.signals import ROUTING_HANDLERS, SLA_HANDLERS, TICKET_HANDLERS
from services.escalation.handlers.timers import run_timers
from services.escalation.settings import EscalationSettings
from shared.events import topics
from shared.events.catalogue import CATALOGUE
from shared.messaging.consumer import Subscription
from shared.skeleton import ServiceSkeleton

# the order the routes are matched in and listed in the OpenAPI document
ROUTERS = (policy_routes.router, escalation_routes.router, subscriptions.router, deliveries.router)

# every event on every topic but the withheld ones (access, dead letters), to the webhook
# subscriptions that take its type
WEBHOOK_FAN_OUT = Subscription(
    "escalation-webhooks",
    fanned_out_topics(),
    {event: fan_out for event in CATALOGUE.values() if withheld_because(event.TOPIC) is None},
)
SUBSCRIPTIONS = (
    # signals that open, fold and advance escalations
    Subscription("escalation-sla", (topics.SLA,), SLA_HANDLERS),
    Subscription("escalation-tickets", (topics.TICKETS,), TICKET_HANDLERS),
    Subscription("escalation-routing", (topics.ROUTING,), ROUTING_HANDLERS),
    WEBHOOK_FAN_OUT,
)

WORKERS = (("escalation-timers", run_timers), ("escalation-deliveries", run_delivery_worker))

SERVICE = ServiceSkeleton(
    "escalation",
    EscalationSettings,
    tables,
    subscriptions=SUBSCRIPTIONS,
    workers=WORKERS,
    routers=ROUTERS,
)
DEFINITION = SERVICE.definition
create_app = SERVICE.create_app
