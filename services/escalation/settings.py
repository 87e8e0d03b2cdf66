"""Escalation settings: the outbound delivery engine's pacing, limits and SMTP relay."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import BaseServiceSettings


class EscalationSettings(BaseServiceSettings):
    service_name: str = "escalation"
    http_port: int = 8004

    # -- outbound deliveries (webhooks, Slack, email) --
    allow_private_targets: bool = Field(
        False,
        description="allow webhook URLs on loopback, private, link-local, multicast or unspecified addresses "
        "(development and tests only: otherwise a subscription could reach internal services)",
    )
    delivery_timeout_s: float = Field(10.0, gt=0, le=300, description="one request (or mail) may take this long")
    delivery_lease_s: float = Field(
        120.0, gt=0, description="a claimed delivery nobody finished is taken again after this long (a crash)"
    )
    delivery_concurrency: int = Field(32, ge=1, le=1000, description="deliveries in flight per process")
    delivery_per_host_concurrency: int = Field(
        4, ge=1, le=100, description="deliveries in flight to one host, so one slow subscriber cannot take all"
    )
    delivery_batch_size: int = Field(50, ge=1, le=1000, description="due deliveries claimed per pass")
    delivery_backoff_base_s: float = Field(5.0, gt=0, description="first retry within this long (full jitter)")
    delivery_backoff_cap_s: float = Field(3600.0, gt=0, description="no retry waits longer than this")
    delivery_max_age_s: float = Field(
        86400.0, gt=0, description="a delivery still failing this long after it was made fails"
    )
    delivery_max_attempts: int = Field(50, ge=1, le=1000, description="a delivery fails after this many attempts")
    delivery_idle_wake_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="the worker looks for due deliveries at least this often (NOTIFY wakes it sooner)",
    )

    # -- the relay email deliveries go through (as ingest's) --
    smtp_relay_host: str | None = Field(None, description="where email deliveries are sent; unset: they wait")
    smtp_relay_port: int = 25
    smtp_relay_starttls: bool = False
    smtp_relay_username: str | None = None
    smtp_relay_password: str | None = None
    delivery_from_address: str = Field("escalations@switchboard.local", description="sender of email deliveries")
    mail_domain: str = Field("switchboard.local", description="domain of the Message-IDs of email deliveries")

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> EscalationSettings:
        if self.delivery_lease_s <= self.delivery_timeout_s:
            raise ValueError("delivery_lease_s must be longer than delivery_timeout_s, or a slow send is taken twice")
        return self


def as_escalation_settings(settings: BaseServiceSettings) -> EscalationSettings:
    """The runtime's settings as escalation's own: `create_app` always builds the runtime with them."""
    if not isinstance(settings, EscalationSettings):
        raise TypeError(f"escalation runs with EscalationSettings, not {type(settings).__name__}")
    return settings
