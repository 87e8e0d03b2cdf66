"""Settings of the local stack that `make up` and the test fixtures start."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from shared.migrations import SERVICES
from shared.settings import KafkaSecuritySettings, TopicSettings
from shared.stack.provision import default_password


class StackSettings(KafkaSecuritySettings, TopicSettings):
    """Every field is an environment variable of the same name in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # set these to use external infrastructure instead of starting it here
    kafka_bootstrap_servers: str | None = None
    database_url: str | None = None  # a role that may create databases and roles (e.g. postgres)

    state_dir: Path = Path(".local")
    kafka_port: int = 9092
    kafka_heap_mb: int = 512
    postgres_port: int = 5433
    host: str = "127.0.0.1"

    ingest_port: int = 8001
    router_port: int = 8002
    sla_port: int = 8003
    escalation_port: int = 8004
    insights_port: int = 8005
    smtp_port: int = 2525
    webhook_receiver_port: int = 8090  # the demo's local receiver of escalation pages

    ingest_db_password: str = default_password("ingest")
    router_db_password: str = default_password("router")
    sla_db_password: str = default_password("sla")
    escalation_db_password: str = default_password("escalation")
    insights_db_password: str = default_password("insights")

    def port_of(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def db_passwords(self) -> dict[str, str]:
        return {service: getattr(self, f"{service}_db_password") for service in SERVICES}
