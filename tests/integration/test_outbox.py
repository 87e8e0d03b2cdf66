"""The transactional outbox on real PostgreSQL and Kafka."""

from __future__ import annotations

from collections import Counter

import asyncpg
import pytest

from services.ingest.adapters.tables import messaging
from services.ingest.domain.decide import OpenTicket
from services.ingest.handlers.tickets import handle_open_ticket
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.events import topics
from shared.events.tickets import Requester
from shared.messaging.kafka import make_producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.uow import UnitOfWork
from shared.stack.provision import asyncpg_dsn
from tests.support import db
from tests.support.kafka import envelopes, read_all

pytestmark = pytest.mark.integration


def _command(subject: str) -> OpenTicket:
    return OpenTicket(
        channel="api", subject=subject, body="printer on fire", requester=Requester(email="ann@example.com")
    )


async def test_committed_transaction_publishes_each_event_exactly_once_and_rolled_back_nothing(infra):
    engine = make_engine(infra.service_urls["ingest"], pool_size=2)
    sessions = make_sessionmaker(engine)
    producer = make_producer(infra.bootstrap_servers, client_id="test-outbox")
    await producer.start()
    try:

        def uow() -> UnitOfWork:
            return UnitOfWork(sessions, messaging, source="/switchboard/ingest", clock=SystemClock())

        async with uow() as committed:
            kept, _ = await handle_open_ticket(
                _command("kept"), uow=committed, clock=committed.clock, reference_prefix="T"
            )
            kept_event_id = committed.staged[0].id
            await committed.commit()

        async with uow() as abandoned:
            dropped, _ = await handle_open_ticket(
                _command("dropped"), uow=abandoned, clock=abandoned.clock, reference_prefix="T"
            )
            dropped_event_id = abandoned.staged[0].id
            await abandoned.rollback()

        relay = OutboxRelay(engine, messaging, producer, service="ingest-test")
        while await relay.publish_batch():
            pass
        assert await relay.publish_batch() == 0, "a second relay pass must find nothing left to send"

        records = await read_all(
            infra.bootstrap_servers,
            topics.TICKETS,
            until=lambda rs: any(e.id == kept_event_id for e in envelopes(rs)),
            settle=1.0,
        )
        seen = Counter(e.id for e in envelopes(records))
        assert seen[kept_event_id] == 1
        assert seen[dropped_event_id] == 0
        kept_record = next(r for r in records if r.key == kept.id.encode())
        assert dict(kept_record.headers)["content-type"].startswith(b"application/cloudevents+json")

        assert await db.fetchval(infra, "SELECT count(*) FROM ingest.tickets WHERE id = $1", dropped.id) == 0
        assert await db.fetchval(infra, "SELECT count(*) FROM ingest.outbox WHERE key = $1", dropped.id) == 0
        published = await db.fetchval(
            infra, "SELECT published_at FROM ingest.outbox WHERE event_id = $1", kept_event_id
        )
        assert published is not None
    finally:
        await producer.stop()
        await engine.dispose()


async def test_a_service_role_cannot_touch_another_services_schema(infra):
    conn = await asyncpg.connect(asyncpg_dsn(infra.service_urls["router"]))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM ingest.tickets LIMIT 1")
        # ...while its own schema is fully its own
        assert await conn.fetchval("SELECT has_table_privilege(current_user, 'router.tickets', 'SELECT,INSERT,UPDATE')")
        assert not await conn.fetchval("SELECT has_schema_privilege(current_user, 'ingest', 'USAGE')")
    finally:
        await conn.close()
