"""aiokafka clients configured the one way this project uses them, plus topic creation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import ConsumerRecord
from pydantic import SecretStr

from shared.events.topics import ALL_TOPICS
from shared.settings import KafkaSecuritySettings

log = logging.getLogger(__name__)

_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")


@dataclass(frozen=True)
class KafkaSecurity:
    """How clients authenticate to the brokers and encrypt the connection (PLAINTEXT: neither)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @classmethod
    def from_settings(cls, settings: KafkaSecuritySettings) -> KafkaSecurity:
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=settings.kafka_sasl_password,
            ssl_cafile=settings.kafka_ssl_cafile,
            ssl_certfile=settings.kafka_ssl_certfile,
            ssl_keyfile=settings.kafka_ssl_keyfile,
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient alike."""
        if self.protocol not in _PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(_PROTOCOLS)}, not {self.protocol!r}")
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in ("SSL", "SASL_SSL"):
            if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
                raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (a client certificate)")
            kwargs["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        if self.protocol.startswith("SASL_"):
            if self.sasl_mechanism not in _MECHANISMS:
                raise ValueError(f"{self.protocol} needs KAFKA_SASL_MECHANISM, one of {', '.join(_MECHANISMS)}")
            if not self.sasl_username or self.sasl_password is None:
                raise ValueError(f"{self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
            if self.sasl_mechanism == "PLAIN" and self.protocol == "SASL_PLAINTEXT":
                log.warning("SASL PLAIN over SASL_PLAINTEXT sends the password unencrypted; use SASL_SSL")
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        return kwargs


PLAINTEXT = KafkaSecurity()


def make_producer(bootstrap_servers: str, *, client_id: str, security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    # acks=all + idempotence: a broker retry never duplicates or reorders within a partition
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        **security.client_kwargs(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=15000,
    )


# an idle consumer's long poll on the broker (aiokafka's default is 500 ms: 2 fetches a second per consumer).
# Its price: the broker answers one request per connection at a time, so after a rebalance the fetch for
# newly assigned partitions waits behind the previous long poll, up to this long, unless a record arrives
# on a partition that poll covers (measured: 4 s at 5000 ms, 0.04 s at 500 ms). At 1000 ms an idle stack
# costs 4.1 % of a core instead of 2.6 %.
FETCH_MAX_WAIT_MS = 5000
# aiokafka's background fetcher wakes on every event it acts on (a fetch answered, records consumed, a
# rebalance, a metadata update); this tick (default 200 ms) only bounds its sleep when none comes
CONSUMER_TICK_MS = 5000
# how long an idle getmany waits before it returns empty; `stop` ends it sooner (see poll_until_stopped)
IDLE_POLL_MS = 5000


def make_consumer(
    bootstrap_servers: str, *topics: str, group_id: str, client_id: str, security: KafkaSecurity = PLAINTEXT
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        **security.client_kwargs(),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=200,
        # the broker answers a fetch as soon as a record arrives; this only spaces out idle fetches
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        consumer_timeout_ms=CONSUMER_TICK_MS,
    )


async def poll_until_stopped(
    consumer: AIOKafkaConsumer, stop: asyncio.Event, *, max_records: int, timeout_ms: int = IDLE_POLL_MS
) -> dict[TopicPartition, list[ConsumerRecord]]:
    """`consumer.getmany`, which returns records the moment they arrive, but empty at once when `stop` is set.

    An idle getmany only returns when its timeout runs out, so a loop that checked `stop` between
    polls kept a shutdown (and every test's service stop) waiting for up to that long."""
    if stop.is_set():
        return {}
    fetching = asyncio.ensure_future(consumer.getmany(timeout_ms=timeout_ms, max_records=max_records))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((fetching, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not fetching.done():
            # nothing is lost: records not yet returned stay unconsumed, and their offsets uncommitted
            fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetching
    return {} if fetching.cancelled() else fetching.result()


def make_admin(bootstrap_servers: str, *, client_id: str, security: KafkaSecurity = PLAINTEXT) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id=client_id, **security.client_kwargs())


async def ensure_topics(
    bootstrap_servers: str,
    *,
    partitions: int,
    replication_factor: int = 1,
    topics: tuple[str, ...] = ALL_TOPICS,
    security: KafkaSecurity = PLAINTEXT,
) -> list[str]:
    """Create missing topics explicitly (auto-creation is off, as in production); returns those created."""
    admin = make_admin(bootstrap_servers, client_id="switchboard-admin", security=security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process: %s", missing)
        return missing
    finally:
        await admin.close()


async def kafka_round_trip(producer: AIOKafkaProducer, topic: str, *, timeout_s: float = 2.0) -> str:
    """ "ok" when a metadata request to the broker answers within `timeout_s` and `topic` has partitions.

    A real request, not the client's cached metadata: that kept saying ok through a broker outage.
    """
    try:
        metadata = await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=timeout_s)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]
    return "ok" if metadata.partitions_for_topic(topic) else f"topic {topic} has no partitions"
