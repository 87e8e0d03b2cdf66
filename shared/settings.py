"""Settings every service shares; each service subclasses this in its own settings.py."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSecuritySettings(BaseSettings):
    """Kafka TLS and SASL (docs/kafka-security.md): the same for every producer, consumer and admin client,
    in every service and in the local stack's own clients."""

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle that signed the brokers' certificates")
    kafka_ssl_certfile: str | None = Field(None, description="client certificate, for brokers that require one")
    kafka_ssl_keyfile: str | None = None


class TopicSettings(BaseSettings):
    """How `switchboard topics` and the local stack create the event catalogue's topics (docs/scaling.md)."""

    topic_partitions: int = Field(6, ge=1, description="partitions per topic; at least any service's replicas")
    # 1 suits the single local broker; a cluster of three or more wants 3, with min.insync.replicas=2 on its
    # brokers so that every acks=all write survives the loss of one broker
    topic_replication_factor: int = Field(
        1, ge=1, description="copies of every partition; at most the number of brokers"
    )


class BaseServiceSettings(KafkaSecuritySettings):
    """Read from the environment (or a .env file) once, in main() or create_app()."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = "switchboard"
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5433/switchboard",
        description="URL of the service's own database role; its schema is the service name.",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_format: str = Field("json", description="json or console")
    db_pool_size: int = 10
    # consumers and the outbox relay run inside the API process unless turned off
    run_consumers: bool = True
    run_relay: bool = True
    relay_poll_interval_s: float = Field(
        5.0,
        description="safety poll of an idle outbox relay; commits wake it at once (in-process, or by NOTIFY)",
    )
    relay_batch_size: int = 500
    consumer_max_handler_attempts: int = 3
    # housekeeping: published outbox rows and inbox rows are deleted after these many days
    outbox_retention_days: float = 7.0
    inbox_retention_days: float = Field(14.0, description="must exceed the topics' retention (7 days)")
    retention_interval_s: float = 3600.0
    max_request_bytes: int = Field(
        2 * 1024 * 1024, description="413 for larger request bodies (some routes allow more)"
    )
    bootstrap_admin_key: str | None = Field(
        None, description="accepted as an admin API key without a table row, to issue the first keys"
    )
    # -- hardening (issue #16, web layer): input guard, database timeouts --
    max_json_depth: int = Field(32, description="422 for JSON bodies nested deeper than this")
    db_statement_timeout_s: float = Field(30.0, description="server-side statement_timeout; 0 turns it off")
    db_lock_timeout_s: float = Field(10.0, description="server-side lock_timeout; 0 turns it off")
    db_idle_in_transaction_timeout_s: float = Field(
        60.0, description="server-side idle_in_transaction_session_timeout; 0 turns it off"
    )
    db_pool_timeout_s: float = Field(10.0, description="wait at most this long for a pooled connection, then 503")
    db_retry_after_s: int = Field(5, description="Retry-After on the 503 answered while the database is unreachable")

    # messaging hardening
    max_event_bytes: int = Field(
        900 * 1024,
        description="largest serialized event a unit of work may commit; under the topics' max.message.bytes (1 MiB)",
    )
    relay_unknown_topic_grace_s: float = Field(
        300.0, description="an outbox row whose topic stays unknown this long is quarantined as a dead letter"
    )
    kafka_log_repeat_interval_s: float = Field(
        5.0, description="aiokafka repeats one log line at most this often, with a count of those suppressed"
    )
