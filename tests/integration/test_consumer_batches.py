"""The consumer runner's batches on real PostgreSQL: one transaction for a poll's records when they all
succeed, each record alone (retries, dead letter) as soon as one does not."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.ingest.adapters.tables import messaging
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.events import Envelope, topics
from shared.events.tickets import TicketReceived, TicketStatusChanged
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.uow import UnitOfWork
from tests.support import db
from tests.support.events import consumer_record as record
from tests.support.events import envelope_of, ticket_received

pytestmark = pytest.mark.integration

calls: list[str] = []


async def opens_it(event: TicketReceived, *, uow: UnitOfWork) -> None:
    """Publishes one event per ticket; a ticket whose subject is `poison` always fails."""
    calls.append(event.subject)
    uow.publish(
        TicketStatusChanged(
            ticket_id=event.ticket_id, old_status="new", new_status="open", changed_at=datetime.now(UTC)
        )
    )
    if event.subject == "poison":
        raise RuntimeError("this one always fails")


@pytest.fixture
async def runner(infra) -> AsyncIterator[ConsumerRunner]:
    engine = make_engine(infra.service_urls["ingest"], pool_size=2)
    sessions = make_sessionmaker(engine)
    subscription = Subscription(f"batch-test-{uuid.uuid4().hex[:8]}", (topics.TICKETS,), {TicketReceived: opens_it})
    calls.clear()
    yield ConsumerRunner(
        subscription,
        lambda: UnitOfWork(sessions, messaging, source="/switchboard/test", clock=SystemClock()),
        max_attempts=2,
    )
    await engine.dispose()


def received(subject: str) -> Envelope:
    return envelope_of(ticket_received(subject=subject))


async def outbox_rows(infra, *envelopes: Envelope) -> dict[str, list[dict]]:
    rows = await db.fetch(
        infra, "SELECT key, headers FROM ingest.outbox WHERE key = any($1::text[])", [e.subject for e in envelopes]
    )
    found: dict[str, list[dict]] = {e.subject: [] for e in envelopes}
    for row in rows:
        headers = row["headers"]
        found[row["key"]].append(json.loads(headers) if isinstance(headers, str) else headers)
    return found


async def test_a_batch_commits_together_and_each_event_keeps_its_own_trace(infra, runner):
    envelopes = [received(f"ticket {i}") for i in range(3)]
    traces = [f"00-{uuid.uuid4().hex}-{'1' * 16}-01" for _ in envelopes]
    records = [record(i, e.to_bytes(), traceparent=t) for i, (e, t) in enumerate(zip(envelopes, traces, strict=True))]
    again = record(3, envelopes[0].to_bytes())

    assert await runner.process_batch([*records, again]) == ["handled", "handled", "handled", "duplicate"]
    assert calls == ["ticket 0", "ticket 1", "ticket 2"], "one transaction, each handler once"
    rows = await outbox_rows(infra, *envelopes)
    for envelope, trace in zip(envelopes, traces, strict=True):
        [headers] = rows[envelope.subject]
        assert headers["traceparent"].split("-")[1] == trace.split("-")[1], "the event carries its own record's trace"
    assert await runner.process_batch(records) == ["duplicate"] * 3, "a redelivered batch changes nothing"


async def test_one_failing_record_sends_the_batch_one_by_one_and_only_it_is_dead_lettered(infra, runner):
    good, poison, later = received("good"), received("poison"), received("later")
    records = [record(10, good.to_bytes()), record(11, poison.to_bytes()), record(12, later.to_bytes())]

    outcomes = await runner.process_batch(records)

    assert outcomes == ["handled", "dead_lettered", "handled"]
    assert calls == ["good", "poison", "good", "poison", "poison", "later"], "the batch once, then each alone"
    rows = await outbox_rows(infra, good, poison, later)
    assert (len(rows[good.subject]), len(rows[later.subject])) == (1, 1), "nothing of the failed batch was kept"
    assert rows[poison.subject] == [], "the poison record's writes are never kept"
    dead = await db.fetch(
        infra, 'SELECT "offset", error FROM ingest.dead_letters WHERE consumer = $1', runner.subscription.consumer
    )
    assert [(d["offset"], "always fails" in d["error"]) for d in dead] == [(11, True)]
    inbox = await db.fetchval(
        infra, "SELECT count(*) FROM ingest.inbox WHERE consumer = $1", runner.subscription.consumer
    )
    assert inbox == 2


async def test_an_undecodable_record_is_dead_lettered_alone_and_its_batchmates_handled(infra, runner):
    first, last = received("first"), received("last")
    records = [record(20, first.to_bytes()), record(21, b"\xffnot json"), record(22, last.to_bytes())]

    assert await runner.process_batch(records) == ["handled", "dead_lettered", "handled"]
    assert calls == ["first", "last"]
    dead = await db.fetch(
        infra, 'SELECT "offset" FROM ingest.dead_letters WHERE consumer = $1', runner.subscription.consumer
    )
    assert [d["offset"] for d in dead] == [21]


async def test_a_batch_of_events_nobody_handles_is_ignored_without_an_inbox_row(infra, runner):
    changed = TicketStatusChanged(ticket_id="t-1", old_status="new", new_status="open", changed_at=datetime.now(UTC))
    records = [record(30 + i, envelope_of(changed).to_bytes()) for i in range(2)]

    assert await runner.process_batch(records) == ["ignored", "ignored"]
    inbox = await db.fetchval(
        infra, "SELECT count(*) FROM ingest.inbox WHERE consumer = $1", runner.subscription.consumer
    )
    assert inbox == 0


async def test_a_subscriptions_prepare_step_runs_first_in_the_batch_with_only_the_events_it_will_handle(infra, runner):
    seen: list[list[str]] = []

    async def prepare(uow: UnitOfWork, events) -> None:
        assert uow.session.in_transaction(), "in the batch's own transaction"
        seen.append([e.subject for e in events])
        calls.append("prepare")

    subscription = replace(runner.subscription, prepare=prepare)
    prepared = replace(runner, subscription=subscription)
    old, new, other = received("old"), received("new"), received("other")
    assert await prepared.process_batch([record(40, old.to_bytes())]) == ["handled"], "a record alone: no batch"
    records = [record(41, old.to_bytes()), record(42, new.to_bytes()), record(43, other.to_bytes())]

    assert await prepared.process_batch(records) == ["duplicate", "handled", "handled"]
    assert seen == [["new", "other"]], "the events the handlers get, not the one the inbox already had"
    assert calls == ["old", "prepare", "new", "other"]
