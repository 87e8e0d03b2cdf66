"""The SLA part of `make bench`: breach announcements of a stream of due timers among many open tickets.

    python -m bench.run --part sla                     # 10,000 and then 100,000 open tickets
    python -m bench.run --part sla --sla-open 20000 --sla-due 2000 --sla-window 20

Starts the sla service as a process on the bench's stack, creates one calendar-time policy over its
REST API (first reply 1 h, no warning; resolution 30 days) and seeds open tickets in two stages:

- stage 1: `--sla-open-small` open tickets, `--sla-via-kafka` of them as TicketReceived events on
  Kafka (that is the sla consumer's ingest rate, and one of them is the reference for the check
  below), the rest written straight into PostgreSQL; `--sla-due-small` of them breach first reply at
  due instants spread uniformly over `--sla-window-small` seconds that start `LEAD_S` after seeding.
- stage 2: more tickets until `--sla-open` are open, `--sla-due` of the new ones due over
  `--sla-window` seconds (the same rate), the rest due an hour later.

Seeding straight into PostgreSQL (Kafka would take the consumer many minutes for 100,000): every row
the service keeps for a new ticket (ticket_events, inbox, tickets with its evaluation, outcomes,
timers, announced) is computed with the service's own domain code (`evaluate`, `wake_times`,
`transitions`) and written with COPY, then the scheduler is NOTIFYed as `replace_timers` does. The
SlaApplied outbox rows are left out (the relay would have published them long before). Before the
stream, the rows of one ticket that went through Kafka are recomputed the same way and must be equal.

For each SlaBreached on switchboard.sla.v1, lateness = the Kafka record's timestamp (set by the
outbox relay's producer when it sent it) minus the event's due_at. The sla process's CPU (user +
system, psutil; consumer, relay and API included) is read from just before the first due instant
to the last announcement.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.sla.domain.clocks import evaluate, transitions, wake_times
from services.sla.domain.model import SlaConfig
from shared.events import Envelope, topics
from shared.events.envelope import wrap
from shared.events.sla import SlaBreached
from shared.events.tickets import Requester, TicketReceived
from shared.stack.local import Infrastructure, ServiceProcess, start_service
from shared.stack.ports import free_port
from shared.stack.provision import asyncpg_dsn

FIRST_REPLY_S = 3600
RESOLUTION_S = 30 * 86400
LEAD_S = 20.0  # between the end of seeding and the first due instant
POLICY = {
    "name": "Bench: calendar time",
    "targets": [
        {"metric": "first_reply", "target_s": FIRST_REPLY_S, "business_hours": False},
        {"metric": "resolution", "target_s": RESOLUTION_S, "business_hours": False},
    ],
    "default": True,
}
SOURCE = "/switchboard/bench"


@dataclass(frozen=True)
class SlaOptions:
    open_large: int = 100_000
    due_large: int = 10_000
    window_large_s: float = 60.0
    open_small: int = 10_000
    due_small: int = 5_000
    window_small_s: float = 30.0
    via_kafka: int = 1_000


@dataclass
class Stream:
    """What one due stream produced."""

    open_tickets: int
    timer_rows: int
    expected: int
    window_s: float
    lateness: list[float] = field(default_factory=list)
    duplicates: int = 0
    cpu_s: float = 0.0
    idle_cpu_per_s: float = 0.0
    seed_s: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def received(self) -> int:
        return len(self.lateness)


def ticket(received_at: datetime) -> TicketReceived:
    ticket_id = str(uuid.uuid4())
    return TicketReceived(
        ticket_id=ticket_id,
        reference=f"SB-{ticket_id[:6]}",
        channel="email",
        subject="Cannot log in",
        requester=Requester(email="ann@bench.example", name="Ann"),
        received_at=received_at,
        tags=("bench",),
    )


@dataclass
class Rows:
    """Every row the sla service writes for a ticket's first event (minus the outbox), per table."""

    ticket_events: list[tuple[Any, ...]] = field(default_factory=list)
    inbox: list[tuple[Any, ...]] = field(default_factory=list)
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    outcomes: list[tuple[Any, ...]] = field(default_factory=list)
    timers: list[tuple[Any, ...]] = field(default_factory=list)
    announced: list[tuple[Any, ...]] = field(default_factory=list)


COLUMNS = {
    "ticket_events": ("event_id", "ticket_id", "type", "at", "payload"),
    "inbox": ("consumer", "event_id", "event_type", "received_at"),
    "tickets": ("ticket_id", "config_version", "sla", "open", "received_at", "updated_at"),
    "outcomes": (
        "ticket_id",
        "metric",
        "cycle",
        "state",
        "target_s",
        "started_at",
        "due_at",
        "stopped_at",
        "breached",
        "business_elapsed_s",
        "calendar_elapsed_s",
        "priority",
        "channel",
        "tier",
        "queue",
        "brand",
        "received_at",
    ),
    "timers": ("ticket_id", "due_at"),
    "announced": ("ticket_id", "key", "announced_at"),
}


def rows_for(rows: Rows, event: TicketReceived, event_id: str, consumer: str, config: SlaConfig, now: datetime) -> None:
    """What `on_ticket_event` -> `reevaluate` writes for a new ticket's TicketReceived, as of `now`
    (mirrors SlaRepository.add_event, lock_ticket, save, replace_timers and claim_announcement)."""
    sla = evaluate([event], config, now)
    assert sla is not None
    rows.ticket_events.append(
        (event_id, event.ticket_id, event.TYPE, event.received_at, json.dumps(event.model_dump(mode="json")))
    )
    rows.inbox.append((consumer, event_id, event.TYPE, now))
    facts = sla.facts
    rows.tickets.append(
        (
            sla.ticket_id,
            config.version,
            json.dumps(sla.model_dump(mode="json")),
            facts.status not in ("solved", "closed"),
            facts.received_at,
            now,
        )
    )
    for c in sla.clocks:
        rows.outcomes.append(
            (
                sla.ticket_id,
                c.metric,
                c.cycle,
                c.state,
                c.target_s,
                c.started_at,
                c.due_at,
                c.stopped_at,
                c.state == "breached",
                c.business_elapsed_s,
                c.calendar_elapsed_s,
                facts.priority,
                facts.channel,
                facts.tier,
                facts.queue,
                facts.brand,
                facts.received_at,
            )
        )
    rows.timers.extend((sla.ticket_id, t) for t in sorted(set(wake_times(sla))))
    rows.announced.extend((sla.ticket_id, t.key, now) for t in transitions(sla))


async def copy_rows(conn: asyncpg.Connection, rows: Rows) -> None:
    """All of `rows` in one transaction, and the scheduler told of the earliest timer at commit."""
    async with conn.transaction():
        for table, columns in COLUMNS.items():
            records = getattr(rows, table)
            if records:
                await conn.copy_records_to_table(table, records=records, columns=columns, schema_name="sla")
        if rows.timers:
            earliest = min(due for _, due in rows.timers)
            await conn.execute("select pg_notify('sla_timers', $1)", earliest.isoformat())


async def seed(
    conn: asyncpg.Connection, received: Sequence[datetime], consumer: str, config: SlaConfig, chunk: int = 10_000
) -> list[str]:
    """Tickets received at these instants, written straight into the sla schema; their ids."""
    ids: list[str] = []
    for start in range(0, len(received), chunk):
        rows = Rows()
        now = datetime.now(UTC)
        for at in received[start : start + chunk]:
            event = ticket(at)
            rows_for(rows, event, str(uuid.uuid4()), consumer, config, now)
            ids.append(event.ticket_id)
        await copy_rows(conn, rows)
    return ids


async def via_kafka(bootstrap: str, conn: asyncpg.Connection, count: int) -> tuple[list[str], float]:
    """`count` TicketReceived events on Kafka; (ids, tickets/s until the sla consumer has timers for all)."""
    events = [ticket(datetime.now(UTC)) for _ in range(count)]
    ids = [e.ticket_id for e in events]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        for event in events:
            envelope = wrap(event, id=str(uuid.uuid4()), source=SOURCE, time=datetime.now(UTC))
            await producer.send(topics.TICKETS, envelope.to_bytes(), key=event.ticket_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    query = "select count(distinct ticket_id) from sla.timers where ticket_id = any($1::text[])"
    while await conn.fetchval(query, ids) < count:
        await asyncio.sleep(0.2)
    return ids, count / (time.perf_counter() - started)


async def shape_check(conn: asyncpg.Connection, ticket_id: str, config: SlaConfig) -> str:
    """Recompute the rows of a ticket the service made from Kafka, as `seed` would, and compare."""
    event_row = await conn.fetchrow("select * from sla.ticket_events where ticket_id = $1", ticket_id)
    ticket_row = await conn.fetchrow("select * from sla.tickets where ticket_id = $1", ticket_id)
    assert event_row is not None and ticket_row is not None
    inbox_row = await conn.fetchrow("select * from sla.inbox where event_id = $1", event_row["event_id"])
    assert inbox_row is not None
    event = TicketReceived.model_validate(json.loads(event_row["payload"]))
    rows = Rows()
    rows_for(rows, event, event_row["event_id"], inbox_row["consumer"], config, ticket_row["updated_at"])
    differences = []
    for table, columns in COLUMNS.items():
        if table == "inbox":
            stored = [(inbox_row["consumer"], inbox_row["event_id"], inbox_row["event_type"])]
            mine = [r[:3] for r in rows.inbox]
        else:
            key = "ticket_id"
            found = await conn.fetch(
                f"select {', '.join(columns)} from sla.{table} where {key} = $1 order by {', '.join(columns[:3])}",
                ticket_id,
            )
            stored = [tuple(_plain(v) for v in r) for r in found]
            mine = sorted(tuple(_plain(v) for v in r) for r in getattr(rows, table))
            stored.sort()
        if stored != mine:
            differences.append(table)
    return "identical" if not differences else "DIFFERENT: " + ", ".join(differences)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


async def collect(bootstrap: str, expected: set[str], deadline: float, ready: asyncio.Event, stream: Stream) -> None:
    """SlaBreached events of `expected` tickets from now on: their lateness, and repeats."""
    # no group id: every partition, from the start (only the few events of Kafka-made tickets are before)
    consumer = AIOKafkaConsumer(
        topics.SLA, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        seen: Counter[str] = Counter()
        while len(seen) < len(expected) and time.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for record in records:
                    try:
                        envelope = Envelope.from_bytes(record.value)
                    except ValueError:
                        continue
                    if envelope.type != SlaBreached.TYPE or envelope.subject not in expected:
                        continue
                    seen[envelope.subject] += 1
                    if seen[envelope.subject] > 1:
                        stream.duplicates += 1
                        continue
                    due = datetime.fromisoformat(envelope.data["due_at"]).timestamp()
                    stream.lateness.append(record.timestamp / 1000 - due)
    finally:
        await consumer.stop()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def due_stream(
    infra: Infrastructure,
    conn: asyncpg.Connection,
    process: psutil.Process,
    config: SlaConfig,
    consumer: str,
    *,
    far: int,
    due: int,
    window_s: float,
) -> Stream:
    """Seed `far` tickets due an hour from now and `due` ones due over `window_s` seconds starting
    `LEAD_S` after seeding ends; collect the breaches of those."""
    started = time.perf_counter()
    await seed(conn, [datetime.now(UTC)] * far, consumer, config)
    far_s = time.perf_counter() - started
    # the due instants start LEAD_S after the due tickets are seeded (estimated from the far ones' rate)
    estimate = due * far_s / far * 1.5 + 2 if far else due / 2000 + 2
    first = datetime.now(UTC) + timedelta(seconds=estimate + LEAD_S)
    step = window_s / due
    instants = [first + timedelta(seconds=(i + 0.5) * step) for i in range(due)]
    ready = asyncio.Event()
    stream = Stream(open_tickets=0, timer_rows=0, expected=due, window_s=window_s)
    ids = await seed(conn, [at - timedelta(seconds=FIRST_REPLY_S) for at in instants], consumer, config)
    stream.seed_s = time.perf_counter() - started
    stream.open_tickets = await conn.fetchval("select count(*) from sla.tickets where open")
    stream.timer_rows = await conn.fetchval("select count(*) from sla.timers")
    lead = (first - datetime.now(UTC)).total_seconds()
    if lead < 5:
        raise RuntimeError(f"seeding ended only {lead:.1f} s before the first due instant; lengthen LEAD_S")
    deadline = first.timestamp() + window_s + 60
    collector = asyncio.create_task(collect(infra.bootstrap_servers, set(ids), deadline, ready, stream))
    await asyncio.wait([asyncio.ensure_future(ready.wait()), collector], return_when=asyncio.FIRST_COMPLETED)
    if collector.done():
        collector.result()  # raises what went wrong
    # the idle cost of the process (relay and consumer polls) over most of the lead time
    idle_from, idle_cpu = time.perf_counter(), cpu_seconds(process)
    await asyncio.sleep(max((first - datetime.now(UTC)).total_seconds() - 1, 0))
    stream.idle_cpu_per_s = (cpu_seconds(process) - idle_cpu) / (time.perf_counter() - idle_from)
    cpu_before = cpu_seconds(process)
    await collector
    stream.cpu_s = cpu_seconds(process) - cpu_before
    stream.load = os.getloadavg()
    # a stream that fell behind is let finish before the next one starts (not counted: it was too late)
    query = "select count(*) from sla.announced where ticket_id = any($1::text[]) and key like '%:breached'"
    drain_until = time.time() + 600
    while await conn.fetchval(query, ids) < due and time.time() < drain_until:
        await asyncio.sleep(1)
    return stream


def start_sla(infra: Infrastructure, log_dir: Path, env: dict[str, str]) -> ServiceProcess:
    service = start_service("sla", infra, port=free_port(), log_dir=log_dir, extra_env=env)
    service.wait_ready()
    return service


async def run(
    infra: Infrastructure, log_dir: Path, admin_key: str, options: SlaOptions, out: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """The table rows; `out`, when given, gets the large stream's figures for latest.json."""
    env = {"BOOTSTRAP_ADMIN_KEY": admin_key, "LOG_LEVEL": "WARNING"}
    service = start_sla(infra, log_dir, env)
    try:
        return await _run(infra, service, admin_key, options, out if out is not None else {})
    finally:
        service.stop()


async def _run(
    infra: Infrastructure, service: ServiceProcess, admin_key: str, options: SlaOptions, out: dict[str, Any]
) -> list[tuple[str, str]]:
    admin = {"Authorization": f"Bearer {admin_key}"}
    response = httpx.put(f"{service.url}/v1/policies/bench", json=POLICY, headers=admin)
    response.raise_for_status()
    process = psutil.Process(service.process.pid)
    conn = await asyncpg.connect(asyncpg_dsn(infra.admin_url.rsplit("/", 1)[0] + "/switchboard"))
    try:
        # tickets already on the topic (the routing part's, with --part all) are taken in first
        await settled(conn)
        # -- stage 0: through Kafka, the consumer's own rate and the reference rows ---------------
        kafka_ids, kafka_rate = await via_kafka(infra.bootstrap_servers, conn, options.via_kafka)
        version = await conn.fetchval("select config_version from sla.tickets where ticket_id = $1", kafka_ids[0])
        snapshot = await conn.fetchval("select snapshot from sla.config_versions where version = $1", version)
        config = SlaConfig.model_validate(json.loads(snapshot))
        consumer = await conn.fetchval(
            "select consumer from sla.inbox i join sla.ticket_events e using (event_id) where e.ticket_id = $1",
            kafka_ids[0],
        )
        check = await shape_check(conn, kafka_ids[0], config)
        if check != "identical":
            raise RuntimeError(f"seeded rows would differ from the service's own: {check}")
        # -- stage 1 and 2 ------------------------------------------------------------------------
        small = await due_stream(
            infra,
            conn,
            process,
            config,
            consumer,
            far=max(options.open_small - await open_count(conn) - options.due_small, 0),
            due=options.due_small,
            window_s=options.window_small_s,
        )
        large = await due_stream(
            infra,
            conn,
            process,
            config,
            consumer,
            far=max(options.open_large - await open_count(conn) - options.due_large, 0),
            due=options.due_large,
            window_s=options.window_large_s,
        )
    finally:
        await conn.close()
    out.update(figures(large))
    return table(options, kafka_rate, check, small, large)


def figures(s: Stream) -> dict[str, Any]:
    """The large stream for latest.json: lateness in seconds (Kafka record time - due_at), timers open."""
    return {
        "lateness_p50_s": _q(s.lateness, 0.5),
        "lateness_p99_s": _q(s.lateness, 0.99),
        "lateness_max_s": max(s.lateness, default=float("nan")),
        "open_timers": s.timer_rows,
        "open_tickets": s.open_tickets,
        "breaches_expected": s.expected,
        "breaches_received": s.received,
        "breaches_twice": s.duplicates,
        "window_s": s.window_s,
        "sla_cpu_ms_per_announcement": s.cpu_s / max(s.received, 1) * 1000,
    }


async def open_count(conn: asyncpg.Connection) -> int:
    found: int = await conn.fetchval("select count(*) from sla.tickets where open")
    return found


async def settled(conn: asyncpg.Connection, quiet_s: float = 5.0) -> None:
    """Wait until the sla consumer has made no ticket for `quiet_s` seconds."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < quiet_s:
        now = await conn.fetchval("select count(*) from sla.inbox")
        if now != last:
            last, since = now, time.monotonic()
        await asyncio.sleep(0.5)


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _lateness(s: Stream) -> str:
    return f"{_q(s.lateness, 0.5) * 1000:.0f} / {_q(s.lateness, 0.99) * 1000:.0f} / {max(s.lateness or [float('nan')]) * 1000:.0f} ms"


def table(options: SlaOptions, kafka_rate: float, check: str, small: Stream, large: Stream) -> list[tuple[str, str]]:
    def per(s: Stream) -> str:
        return f"{s.cpu_s / max(s.received, 1) * 1000:.2f} ms"

    def side(f: Any) -> str:
        return f"{f(small)}  |  {f(large)}"

    rate = options.due_large / options.window_large_s
    return [
        (f"sla consumer: {options.via_kafka} ticket.received on Kafka to all timers written", f"{kafka_rate:,.0f} /s"),
        (
            "seeding the rest: service's own rows via COPY (no outbox rows), vs a Kafka-made ticket",
            f"{check}; {small.seed_s + large.seed_s:.0f} s",
        ),
        (
            f"SLA {large.open_tickets:,} open tickets ({large.timer_rows:,} timer rows): "
            f"{large.expected:,} first-reply breaches due over {large.window_s:.0f} s ({rate:.0f}/s)",
            f"received {large.received:,} of {large.expected:,}, {large.duplicates} twice",
        ),
        ("  breach lateness (Kafka record time - due_at) p50 / p99 / max", _lateness(large)),
        (
            "  sla process CPU over the stream (user+system), per announcement",
            f"{large.cpu_s:.1f} s, {per(large)} (idle {large.idle_cpu_per_s * 1000:.0f} ms/s)",
        ),
        ("  load average during the stream (1 / 5 / 15 min)", " / ".join(f"{x:.2f}" for x in large.load)),
        (
            f"SLA cost vs open tickets: {small.open_tickets:,} | {large.open_tickets:,} open, "
            f"breaches at {small.expected / small.window_s:.0f}/s | {rate:.0f}/s",
            "",
        ),
        ("  received / expected, twice", side(lambda s: f"{s.received:,}/{s.expected:,}, {s.duplicates}")),
        ("  breach lateness p50 / p99 / max", side(_lateness)),
        ("  sla CPU per announcement", side(per)),
        ("  load average (1 min)", side(lambda s: f"{s.load[0]:.2f}")),
    ]
