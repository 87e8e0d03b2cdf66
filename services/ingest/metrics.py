"""Ingest's own Prometheus series (the shared ones cover HTTP, outbox and consumers)."""

from prometheus_client import Counter

INBOUND_EMAILS = Counter(
    "switchboard_inbound_emails_total",
    "Inbound emails by route and outcome (ticket_opened, message_added, duplicate, automated, not_for_us, quarantined)",
    ["route", "outcome"],
)
WEBHOOK_COMMANDS = Counter(
    "switchboard_webhook_commands_total",
    "Commands applied from webhooks, by source kind and action",
    ["kind", "action"],
)
