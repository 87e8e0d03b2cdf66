"""Ingest's app: REST routes, webhook and email intake, the SMTP listener, the assignment and escalation consumers."""

from __future__ import annotations

from fastapi import FastAPI

from services.ingest.adapters.tables import api_keys, messaging
from services.ingest.entrypoints import access, chat, email, providers, tickets, webhooks
from services.ingest.entrypoints.chat import run_chat_sweeper, run_chat_watcher
from services.ingest.entrypoints.smtp import run_smtp_listener
from services.ingest.handlers.email import run_mail_parsers
from services.ingest.handlers.escalations import EVENT_HANDLERS as ESCALATION_HANDLERS
from services.ingest.handlers.notifications import run_mail_sender
from services.ingest.handlers.retention import run_ingest_retention
from services.ingest.handlers.routing import EVENT_HANDLERS as ROUTING_HANDLERS
from services.ingest.settings import IngestSettings
from shared.clock import Clock
from shared.events import topics
from shared.messaging.consumer import Subscription
from shared.runtime import ServiceDefinition
from shared.web.app import create_service_app

DEFINITION = ServiceDefinition(
    name="ingest",
    tables=messaging,
    api_keys=api_keys,
    subscriptions=(
        Subscription("ingest-assignments", (topics.ROUTING,), ROUTING_HANDLERS),
        Subscription("ingest-escalations", (topics.ESCALATIONS,), ESCALATION_HANDLERS),
    ),
    workers=(
        ("smtp", run_smtp_listener),
        ("mail-sender", run_mail_sender),
        ("chat-sweeper", run_chat_sweeper),
        ("chat-watcher", run_chat_watcher),
        ("mail-parsers", run_mail_parsers),
        ("ingest-retention", run_ingest_retention),
    ),
)


def create_app(settings: IngestSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    return create_service_app(
        DEFINITION,
        settings,
        # raw mail may be large; the email routes check their own (smaller) limits as they read
        body_limits={"/v1/inbound/email": settings.max_email_bytes + 1024 * 1024},
        routers=[
            tickets.router,
            webhooks.router,
            email.router,
            providers.router,
            access.router,
            chat.router,
        ],
        clock=clock,
    )
