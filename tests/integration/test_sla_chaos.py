"""SIGKILL while timers fall due: the sla service runs as a real process, 100 tickets' first-reply
warnings and breaches fall due over 17 seconds, and the process is SIGKILLed three times while
they fire (among the warnings, as the breaches begin, among the last breaches) and restarted each time.
Afterwards every ticket has exactly one SlaApplied, one SlaWarning and one SlaBreached, at its own
due instant: nothing lost, nothing announced twice. (A relay killed between sending and marking a
row sends it again after the restart, with the same event id: consumers dedupe on it, so the test
counts event ids, and reports the raw redeliveries.)"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.events import Envelope, topics
from shared.stack.local import Infrastructure, ServiceProcess, start_service
from shared.stack.ports import free_port
from tests.support import db
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of
from tests.support.kafka import eventually, read_all
from tests.support.sla import has, policy_for_brand, received, send, sla_events

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("sla_from_now")]
TICKETS = 100
TARGET_S = 14  # first reply, calendar time, warning at 50 %
SPREAD_S = 10.0  # received over the 10 s before t0: warnings due t0-3..t0+7, breaches t0+4..t0+14
KINDS = ("applied", "warning", "breached")


@pytest.fixture
def sla_processes() -> Iterator[list[ServiceProcess]]:
    """Sla processes started by the test (the last one is the live one); all stopped afterwards."""
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


def start_sla(infra: Infrastructure, stack_dir: Path, started: list[ServiceProcess]) -> ServiceProcess:
    process = start_service(
        "sla",
        infra,
        port=free_port(),
        log_dir=stack_dir / "logs",
        extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
    )
    started.append(process)
    return process


@dataclass(frozen=True)
class Snapshot:
    """The sla service's state for the test's tickets just before a kill."""

    after_s: float  # since t0
    stored: int  # tickets whose TicketReceived is in
    timers: int  # timers still set (due or to come)
    warned: int
    breached: int

    def __str__(self) -> str:
        return (
            f"t0+{self.after_s:.1f}s ({self.stored} stored, {self.timers} timers set, "
            f"{self.warned} warned, {self.breached} breached)"
        )


async def snapshot(infra: Infrastructure, ids: set[str], t0: datetime) -> Snapshot:
    mine = list(ids)
    counts = await db.fetch(
        infra,
        """select
             (select count(*) from sla.tickets where ticket_id = any($1::text[]) and sla is not null),
             (select count(*) from sla.timers where ticket_id = any($1::text[])),
             (select count(*) from sla.announced where ticket_id = any($1::text[]) and key like '%:warning'),
             (select count(*) from sla.announced where ticket_id = any($1::text[]) and key like '%:breached')""",
        mine,
    )
    stored, timers, warned, breached = counts[0]
    return Snapshot((datetime.now(UTC) - t0).total_seconds(), stored, timers, warned, breached)


async def test_sla_processes_killed_while_timers_fall_due_announce_each_transition_once(
    infra, stack_dir, sla_processes
):
    live = start_sla(infra, stack_dir, sla_processes)
    await asyncio.to_thread(live.wait_ready)
    async with httpx.AsyncClient(base_url=live.url, headers=ADMIN, timeout=30) as http:
        brand = await policy_for_brand(http, first_reply_s=TARGET_S, warn_percent=50)
    # once a first ticket is applied the consumer has its partitions, so the tickets go in at once
    warm_up = received(datetime.now(UTC), brand)
    await send(infra, warm_up)
    await sla_events(infra, warm_up.ticket_id, has("applied"))

    t0 = datetime.now(UTC)
    tickets = [received(t0 - timedelta(seconds=SPREAD_S * i / TICKETS), brand) for i in range(TICKETS)]
    random.shuffle(tickets)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for ticket in tickets:
            await producer.send(topics.TICKETS, envelope_of(ticket).to_bytes(), key=ticket.ticket_id.encode())
        await producer.flush()
    finally:
        await producer.stop()

    ids = {t.ticket_id for t in tickets}
    kills: list[Snapshot] = []

    async def kill_and_restart() -> None:
        nonlocal live
        before = await snapshot(infra, ids, t0)
        live.kill()  # SIGKILL: mid-transaction, mid-publish, mid-commit, whatever it is doing
        kills.append(before)
        live = start_sla(infra, stack_dir, sla_processes)
        # the timers are rows: the new process fires what fell due meanwhile as soon as it is up
        # (its consumer only rejoins once the dead one's Kafka session expires; no ticket events are due)
        await asyncio.to_thread(live.wait_ready)

    async def stored() -> bool:
        return (await snapshot(infra, ids, t0)).stored == TICKETS

    await eventually(stored, timeout=30)
    # while warnings fire (a third were due on arrival, the rest until t0+7), then while the last
    # warnings and the first breaches fire, then while the last breaches fire (until t0+14)
    for lo, hi in [(1.0, 3.0), (5.5, 8.0), (9.5, 12.0)]:
        planned = t0 + timedelta(seconds=random.uniform(lo, hi))
        await asyncio.sleep(max((planned - datetime.now(UTC)).total_seconds(), 0.2))
        await kill_and_restart()

    due = {t.ticket_id: t.received_at + timedelta(seconds=TARGET_S) for t in tickets}

    def collect(records: list) -> dict[tuple[str, str], dict[str, Envelope]]:
        """(ticket, kind) -> the distinct events by id."""
        found: dict[tuple[str, str], dict[str, Envelope]] = defaultdict(dict)
        for record in records:
            if record.key is None or record.key.decode() not in ids:
                continue
            envelope = Envelope.from_bytes(record.value)
            found[(envelope.subject, envelope.type.removeprefix("switchboard.sla."))][envelope.id] = envelope
        return found

    def complete(records: list) -> bool:
        found = collect(records)
        return all((t, kind) in found for t in ids for kind in KINDS)

    started = time.monotonic()
    records = await read_all(infra.bootstrap_servers, topics.SLA, until=complete, settle=5, timeout=120)
    found = collect(records)

    for kind in KINDS:
        counts = Counter({t: len(found.get((t, kind), {})) for t in ids})
        assert counts == Counter(dict.fromkeys(ids, 1)), (kind, {t: n for t, n in counts.items() if n != 1})
    assert {kind for _, kind in found} == set(KINDS), "nothing but applied, warning and breached"
    for ticket_id in ids:
        (breach,) = found[(ticket_id, "breached")].values()
        assert datetime.fromisoformat(breach.data["breached_at"]) == due[ticket_id]
        (warning,) = found[(ticket_id, "warning")].values()
        assert datetime.fromisoformat(warning.data["warned_at"]) == due[ticket_id] - timedelta(seconds=TARGET_S / 2)

    async def drained() -> bool:
        unsent = await db.fetchval(infra, "select count(*) from sla.outbox where published_at is null")
        return unsent == 0

    await eventually(drained, timeout=30)
    mine = [r for r in records if r.key is not None and r.key.decode() in ids]
    redelivered = len(mine) - sum(len(events) for events in found.values())
    while_due = [k for k in kills if k.stored == TICKETS and k.timers and k.warned + k.breached < 2 * TICKETS]
    assert len(while_due) >= 2, f"at least two kills while timers were due: {'; '.join(map(str, kills))}"
    print(
        f"\n{TICKETS} tickets, SIGKILLs at {'; '.join(map(str, kills))}: "
        f"each applied, warned and breached once ({redelivered} records sent twice with the same event id); "
        f"all announced {time.monotonic() - started:.1f} s after the last restart"
    )
