"""Ingest settings: the shared ones plus the front door's own."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings


class IngestSettings(BaseServiceSettings):
    service_name: str = "ingest"
    http_port: int = 8001
    reference_prefix: str = "SB"

    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(2525, description="inbound SMTP listener; unset to turn it off")
    mail_domain: str = Field("switchboard.local", description="domain of our Message-IDs and reply addresses")
    max_email_bytes: int = 40 * 1024 * 1024
    max_attachment_bytes: int = 25 * 1024 * 1024
    mail_parse_process_bytes: int = Field(
        1024 * 1024, description="mail this large or larger is parsed in a worker process (smaller: a thread)"
    )
    mail_parse_processes: int = Field(2, ge=1, description="worker processes that parse big mail")
    email_dedupe_hours: int = Field(
        96, description="provider retries inside this window are one mail (SendGrid retries 3 days)"
    )

    default_from_address: str = Field(
        "support@switchboard.local", description="sender of notifications when the ticket has no support address"
    )
    smtp_relay_host: str | None = Field(
        None, description="where reply notifications are sent; unset = they stay queued"
    )
    smtp_relay_port: int = 25
    smtp_relay_starttls: bool = False
    smtp_relay_username: str | None = None
    smtp_relay_password: str | None = None
    mail_send_interval_s: float = 1.0

    max_webhook_bytes: int = 1024 * 1024
    webhook_tolerance_s: int = 300

    # housekeeping of ingest's own tables (handlers/retention.py), in small batches
    raw_mail_retention_days: float = Field(
        30.0, description="raw bytes of kept mail (quarantined, automated, cut) are dropped after this; the row stays"
    )
    delivery_retention_days: float = Field(
        30.0,
        description="idempotency rows of webhook/email/API deliveries; must outlive platforms' retries (SendGrid: 3 days)",
    )
    sent_email_retention_days: float = Field(30.0, description="sent reply notifications are deleted after this")
    ingest_retention_interval_s: float = 3600.0
    ingest_retention_batch: int = Field(1000, ge=1, description="rows per purge transaction")

    chat_idle_minutes: float = 30.0
    chat_sweep_interval_s: float = 30.0


def as_ingest_settings(settings: BaseServiceSettings) -> IngestSettings:
    """The runtime's settings as ingest's own: `create_app` always builds the runtime with IngestSettings."""
    if not isinstance(settings, IngestSettings):
        raise TypeError(f"ingest runs with IngestSettings, not {type(settings).__name__}")
    return settings
