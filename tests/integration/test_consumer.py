"""The consumer runner inside a real router process: inbox, dead letters, crash safety."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shared.events import topics
from shared.stack.local import Infrastructure, ServiceProcess, start_service
from shared.stack.ports import free_port
from tests.support import db
from tests.support.api import ADMIN_KEY
from tests.support.events import envelope_of, ticket_received
from tests.support.kafka import about, eventually, group_lag, produce, read_all

# what routing one ticket publishes (no agent can take it in these tests): each exactly once
# routed once: the ticket's queue, its routing decision, and the wait record saying why nobody took it
ROUTED_ONCE = [
    "switchboard.ticket.routed",
    "switchboard.routing.decision_recorded",
    "switchboard.routing.decision_recorded",
]

pytestmark = pytest.mark.integration


def consumed(router: ServiceProcess, outcome: str) -> float:
    """This router process's count of consumed messages with the given outcome."""
    text = httpx.get(f"{router.url}/metrics", timeout=5).text
    pattern = rf'^switchboard_messages_consumed_total\{{[^}}]*outcome="{outcome}"[^}}]*\}} (\S+)$'
    return sum(float(m) for m in re.findall(pattern, text, flags=re.M))


async def routed_rows(infra: Infrastructure, ticket_id: str) -> tuple[int, int]:
    tickets = await db.fetchval(infra, "SELECT count(*) FROM router.tickets WHERE ticket_id = $1", ticket_id)
    outbox = await db.fetchval(
        infra,
        "SELECT count(*) FROM router.outbox WHERE key = $1 AND event_type = 'switchboard.ticket.routed'",
        ticket_id,
    )
    return tickets, outbox


async def test_the_same_event_delivered_twice_changes_state_once(infra, start_router):
    router = start_router()
    envelope = envelope_of(ticket_received())
    ticket_id = envelope.subject
    for _ in range(2):
        await produce(infra.bootstrap_servers, topics.TICKETS, envelope.to_bytes(), key=ticket_id)

    await eventually(lambda: consumed(router, "duplicate") >= 1)
    assert await routed_rows(infra, ticket_id) == (1, 1)
    records = await read_all(
        infra.bootstrap_servers, topics.ROUTING, until=lambda rs: len(about(rs, ticket_id)) >= 1, settle=1.5
    )
    assert [e.type for e in about(records, ticket_id)] == ROUTED_ONCE


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_next_is_processed(infra, start_router):
    router = start_router()
    key = ticket_received().ticket_id
    poison = b'{"specversion": "1.0", "type": "switchboard.ticket.received", "oops'
    await produce(infra.bootstrap_servers, topics.TICKETS, poison, key=key)
    good = envelope_of(ticket_received(key))
    await produce(infra.bootstrap_servers, topics.TICKETS, good.to_bytes(), key=key)

    await eventually(lambda: db.fetchval(infra, "SELECT count(*) FROM router.tickets WHERE ticket_id = $1", key))
    rows = await db.fetch(infra, "SELECT consumer, topic, raw, error FROM router.dead_letters WHERE key = $1", key)
    assert len(rows) == 1
    assert rows[0]["consumer"] == "router" and rows[0]["topic"] == topics.TICKETS
    assert bytes(rows[0]["raw"]) == poison, "the raw bytes are kept for inspection and replay"
    assert rows[0]["error"].startswith("undecodable: ValidationError")

    records = await read_all(infra.bootstrap_servers, topics.DEAD_LETTERS, until=lambda rs: len(about(rs, key)) >= 1)
    (dead,) = about(records, key)
    assert dead.type == "switchboard.message.dead_lettered"
    assert dead.data["error"] == rows[0]["error"]
    assert consumed(router, "dead_lettered") >= 1


async def test_an_event_for_a_type_with_invalid_data_is_dead_lettered(infra, start_router):
    router = start_router()
    envelope = envelope_of(ticket_received())
    broken = envelope.model_copy(update={"data": {**envelope.data, "channel": "carrier-pigeon"}})
    await produce(infra.bootstrap_servers, topics.TICKETS, broken.to_bytes(), key=envelope.subject)

    error = await eventually(
        lambda: db.fetchval(infra, "SELECT error FROM router.dead_letters WHERE key = $1", envelope.subject)
    )
    assert "channel" in error
    assert await routed_rows(infra, envelope.subject) == (0, 0)
    assert consumed(router, "dead_lettered") >= 1


@pytest.fixture
def start_doomed_router(infra: Infrastructure, stack_dir: Path) -> Iterator[Callable[[], ServiceProcess]]:
    """A router that SIGKILLs itself after its first handled record's database commit (tests.support.crash_after_commit)."""
    started: list[ServiceProcess] = []

    def start() -> ServiceProcess:
        process = start_service(
            "router",
            infra,
            port=free_port(),
            log_dir=stack_dir / "logs",
            extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
            module="tests.support.crash_after_commit",
        )
        started.append(process)
        process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()


async def test_sigkill_after_db_commit_before_offset_commit_has_no_duplicate_effect(
    infra, start_router, start_doomed_router
):
    # the doomed router dies on the first record it handles, so let a healthy router drain the backlog first
    drainer = start_router()

    async def drained() -> bool:
        return await group_lag(infra.bootstrap_servers, "switchboard-router", topics.TICKETS) == 0

    await eventually(drained)
    drainer.stop()

    doomed = start_doomed_router()
    envelope = envelope_of(ticket_received())
    ticket_id = envelope.subject
    await produce(infra.bootstrap_servers, topics.TICKETS, envelope.to_bytes(), key=ticket_id)

    await eventually(lambda: doomed.process.poll() is not None, timeout=60)
    assert doomed.process.returncode == -9, "the after-commit hook kills the process with SIGKILL"
    assert await routed_rows(infra, ticket_id) == (1, 1), "the database commit happened before the kill"

    survivor = start_router()
    # the offset was never committed, so the restarted consumer gets the record again
    await eventually(lambda: consumed(survivor, "duplicate") >= 1, timeout=60)
    assert await routed_rows(infra, ticket_id) == (1, 1)
    records = await read_all(
        infra.bootstrap_servers, topics.ROUTING, until=lambda rs: len(about(rs, ticket_id)) >= 1, settle=1.5
    )
    assert [e.type for e in about(records, ticket_id)] == ROUTED_ONCE, (
        "the outbox rows were published once, by the restarted relay"
    )
