"""`make bench`: a realistic support floor under load, beside this machine's raw Kafka and PostgreSQL limits.

    make bench                              # everything; writes bench/results/latest.json and latency.png
    python -m bench.run --quick             # a short version (a few minutes); results in bench/results/quick/
    python -m bench.run --part floor        # only the floor; --part sla | routing (the closed-loop 8-agent part)

Starts its own Kafka and PostgreSQL (fsync on, checked) in a temporary directory, measures their raw
limits, then the floor (bench/floor.py: queues, rules, 200 agents, simulated agents in bench/agents.py)
driven open-loop by signed webhooks and SMTP (bench/load.py) through steps of offered load
(bench/steps.py), router replicas, a backlog drained, the idle stack, the cost of one dispatch as the
floor grows (bench/scale.py), and the SLA part (bench/sla.py). No figure is written down anywhere but
by a run: the table, the JSON and the chart all come from what this run measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import closed_loop, limits, procs, report, scale, sla, stats, steps
from bench import floor as floor_config
from bench.agents import Floor, pool_for
from bench.clients import SmtpPool
from bench.load import Generator, Step
from shared.stack.config import StackSettings
from shared.stack.local import Infrastructure, ServiceProcess, start_infrastructure, start_service
from shared.stack.ports import free_port

ADMIN_KEY = "sb_bench_admin_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Options:
    quick: bool = False
    part: str = "all"
    agents: int = 200
    handle_mean_s: float = 2.0
    smtp_share: float = 0.1
    step_s: float = 25.0
    drain_s: float = 600.0
    max_steps: int = 8
    latency_steps: int = 4
    rates: tuple[int, ...] = (100, 500)
    idle_s: float = 30.0
    replica_tickets: int = 3000
    replica_pairs: int = 2
    backlog: int = 10_000
    scale_agents: tuple[int, ...] = (20, 200, 2000)
    scale_waiting: tuple[int, ...] = (1000, 10_000, 100_000)
    scale_repeats: int = 7
    kafka_messages: int = 20_000
    pg_commits: int = 4000
    sla: sla.SlaOptions = field(default_factory=sla.SlaOptions)
    out: Path | None = None

    @classmethod
    def quick_run(cls) -> Options:
        return cls(
            quick=True,
            step_s=8.0,
            drain_s=300.0,
            max_steps=4,
            latency_steps=2,
            idle_s=10.0,
            replica_tickets=800,
            replica_pairs=1,
            backlog=2000,
            scale_agents=(20, 200),
            scale_waiting=(1000, 10_000),
            scale_repeats=3,
            kafka_messages=5000,
            pg_commits=1000,
            sla=sla.SlaOptions(
                open_large=10_000,
                due_large=1000,
                window_large_s=10,
                open_small=2000,
                due_small=500,
                window_small_s=5,
                via_kafka=200,
            ),
        )


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


async def measure_limits(infra: Infrastructure, options: Options) -> dict[str, float]:
    say("raw limits: Kafka produce, produce -> consume; PostgreSQL commits on 1 and 16 connections")
    return {
        "kafka_produce_per_s": await limits.kafka_produce(infra.bootstrap_servers, options.kafka_messages),
        "kafka_produce_consume_per_s": await limits.kafka_produce_consume(
            infra.bootstrap_servers, options.kafka_messages
        ),
        "pg_commits_per_s_1": await limits.postgres_commits(infra.admin_url, options.pg_commits // 2, 1),
        "pg_commits_per_s_16": await limits.postgres_commits(infra.admin_url, options.pg_commits, 16),
    }


def _start(name: str, infra: Infrastructure, log_dir: Path, env: dict[str, str]) -> ServiceProcess:
    return start_service(name, infra, port=free_port(), log_dir=log_dir, extra_env=env)


async def floor_part(infra: Infrastructure, settings: StackSettings, log_dir: Path, options: Options) -> dict[str, Any]:
    env = {"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "LOG_LEVEL": "WARNING"}
    smtp_port = free_port()
    ingest = _start("ingest", infra, log_dir, {**env, "SMTP_PORT": str(smtp_port)})
    router = _start("router", infra, log_dir, env)
    others = [_start(name, infra, log_dir, env) for name in ("sla", "escalation", "insights")]
    services = [ingest, router, *others]
    extra: list[ServiceProcess] = []
    result: dict[str, Any] = {}
    try:
        for service in services:
            service.wait_ready()
        say(f"floor: queues, rules, {options.agents} agents and their keys")
        keys, manager_key = floor_config.configure(ingest.url, router.url, ADMIN_KEY, options.agents)
        agent_ids = list(keys)
        sim = Floor(
            infra.bootstrap_servers,
            ingest.url,
            [router.url],
            keys,
            solver_key=manager_key,
            handle_mean_s=options.handle_mean_s,
        )
        await sim.start()
        router_pool = pool_for(router.url, 16)
        await asyncio.sleep(2)  # the agents' keys reach the router through the access topic
        await steps.set_statuses(router_pool, ADMIN_KEY, agent_ids, "online")
        meter = procs.Meter(
            {
                **{s.name: s.pid for s in services},
                "kafka": infra.kafka.process.pid if infra.kafka else 0,
                "postgres": infra.postgres.process.pid if infra.postgres else 0,
                "bench": os.getpid(),
            }
        )
        await asyncio.sleep(5)  # what configuring published is consumed everywhere
        say(f"idle: the whole stack (5 services, Kafka, PostgreSQL), {options.idle_s:.0f} s without traffic")
        usage = await procs.idle(meter, options.idle_s)
        result["idle"] = {
            "seconds": options.idle_s,
            "stack_cpu_pct": procs.stack_total(usage),
            "load_average": os.getloadavg(),
            "processes": {n: {"cpu_pct": u.cpu_pct, "rss_mb": u.rss_mb} for n, u in usage.items()},
        }
        # the load steps measure the webhook -> assigned path alone: the other services would share its cores
        for service in others:
            service.stop()
            del meter.components[service.name]
        slots = floor_config.slots(options.agents)
        result["floor"] = {
            "agents": options.agents,
            "slots": slots,
            "handle_mean_s": options.handle_mean_s,
            "capacity_bound_tps": slots["total"] / options.handle_mean_s,
            "smtp_share": options.smtp_share,
            "queues": list(floor_config.QUEUES),
            "rules": [r["id"] for r in floor_config.RULES["rules"]],
        }
        customers = floor_config.Customers(floor_config.load_samples())
        result["floor"]["samples"] = len(customers.samples)
        generator = Generator(
            pool_for(ingest.url, 256), SmtpPool("127.0.0.1", smtp_port, 32), customers, smtp_share=options.smtp_share
        )
        say("load steps: 100/s, 500/s, the search for the highest sustained rate, then for the highest within 250 ms")
        step_options = steps.StepOptions(duration_s=options.step_s, drain_timeout_s=options.drain_s)
        done: list[Step] = []
        result["steps"] = await steps.search(
            sim,
            generator,
            meter,
            step_options,
            fixed=options.rates,
            max_steps=options.max_steps,
            latency_steps=options.latency_steps,
            say=say,
            keep=done,
        )
        tried = [
            (s["offered_rate"], s["sustained"], s["to_assigned"]["p99_ms"] or float("nan")) for s in result["steps"]
        ]
        result["highest_within_250ms"] = stats.highest_within(tried)
        result["max_sustained_rate"] = stats.best_sustained({r: ok for r, ok, _ in tried})
        # what the floor assigned at best, held or not: a figure when no step was sustained
        result["peak_assigned_rate"] = max((s["assigned_rate"] for s in result["steps"]), default=None)

        say(
            f"router replicas: {options.replica_tickets} tickets on Kafka with 1 router, then with 2, "
            f"{options.replica_pairs} times"
        )
        result["left_after_steps"] = await steps.settle(sim, done, options.drain_s)
        rounds: list[dict[str, Any]] = []
        # alternated, so neither count is always measured on the fuller database or the warmer router
        for _ in range(options.replica_pairs):
            rounds.append({"routers": 1, **await steps.router_bound(sim, customers, options.replica_tickets, 600)})
            second = _start("router", infra, log_dir, env)
            extra.append(second)
            await asyncio.to_thread(second.wait_ready)
            sim.add_router(second.url)
            await asyncio.sleep(10)  # the consumer group rebalances over both
            rounds.append({"routers": 2, **await steps.router_bound(sim, customers, options.replica_tickets, 600)})
            await sim.remove_router()
            await asyncio.to_thread(second.stop)
            extra.remove(second)
            await asyncio.sleep(10)  # and back onto one
        result["replicas"] = {**stats.replica_totals(rounds), "rounds": rounds}

        say(f"drain: {options.backlog:,} tickets waiting, then {options.agents} agents come online")
        result["drain"] = await steps.drain(sim, customers, router_pool, ADMIN_KEY, agent_ids, options.backlog)
        result["sim"] = {
            "solve_retries": sim.solve_retries,
            "errors": dict(sim.errors),
            "events": dict(sim.seen.counts),
        }
        await sim.stop()
        await generator.ingest.close()
        await generator.smtp.close()
        await router_pool.close()
    finally:
        for service in [*extra, *services]:
            service.stop()
    return result


async def scale_part(infra: Infrastructure, settings: StackSettings, options: Options) -> dict[str, Any]:
    say(f"floor cost: dispatch with {options.scale_waiting} waiting x {options.scale_agents} agents (in process)")
    costs = await scale.run(
        infra.admin_url,
        settings.db_passwords(),
        infra.service_urls["router"],
        agents=options.scale_agents,
        waiting=options.scale_waiting,
        repeats=options.scale_repeats,
    )
    return {
        "scale": [{"agents": c.agents, "waiting": c.waiting, "ms": c.ms, "seed_s": c.seed_s} for c in costs],
        "scale_flatness": {
            call: stats.flatness({c.waiting * 10_000 + c.agents: c.ms[call] for c in costs}) for call in scale.CALLS
        },
    }


async def main(options: Options, legacy: tuple[int, int, str | None] = (2000, 16, None)) -> None:
    machine = procs.machine()
    with tempfile.TemporaryDirectory() as tmp:
        settings = StackSettings(state_dir=Path(tmp), kafka_port=free_port(), postgres_port=free_port(), _env_file=None)
        say("starting Kafka and PostgreSQL (fsync on)")
        infra = start_infrastructure(settings)
        log_dir = Path(tmp) / "logs"
        try:
            fsync = await limits.fsync_setting(infra.admin_url)
            if fsync != "on":
                raise RuntimeError(f"PostgreSQL runs with fsync={fsync}: no figure of this run would be worth quoting")
            measured = await measure_limits(infra, options)
            if options.part == "routing":
                raw = [
                    ("fsync", fsync),
                    (
                        "raw Kafka: aiokafka produce -> consume, acks=all, 1 KiB",
                        f"{measured['kafka_produce_consume_per_s']:,.0f} msg/s",
                    ),
                    (
                        "raw PostgreSQL: 1-row commits, 1 / 16 connections",
                        f"{measured['pg_commits_per_s_1']:,.0f} / {measured['pg_commits_per_s_16']:,.0f} tx/s",
                    ),
                ]
                report.print_rows(raw + await closed_loop.routing(infra, Path(tmp), *legacy))
                return
            floor_result: dict[str, Any] | None = None
            if options.part in ("all", "floor"):
                floor_result = await floor_part(infra, settings, log_dir, options)
            if options.part in ("all", "floor", "scale"):
                floor_result = {**(floor_result or {}), **await scale_part(infra, settings, options)}
            sla_rows: list[tuple[str, str]] = []
            sla_result: dict[str, Any] = {}
            if options.part in ("all", "sla"):
                say("SLA: open tickets with timers, a stream of breaches")
                sla_rows = await sla.run(infra, log_dir, ADMIN_KEY, options.sla, sla_result)
        finally:
            infra.stop()
    values = report.summarise(measured, floor_result, sla_result or None)
    detail = {
        "fsync": fsync,
        "quick": options.quick,
        "part": options.part,
        "limits": measured,
        "floor": floor_result,
        "sla": sla_result or None,
    }
    doc = report.document(values, detail, machine)
    report.print_rows(report.rows(doc))
    if sla_rows:
        report.print_rows(sla_rows)
    out = options.out or (report.RESULTS / "quick" if options.quick or options.part != "all" else report.RESULTS)
    json_path, png = report.write(doc, out)
    say(f"wrote {json_path}" + (f" and {png}" if png else ""))


def parse(argv: list[str] | None = None) -> tuple[Options, tuple[int, int, str | None]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short steps and small sizes (a few minutes)")
    parser.add_argument("--part", choices=("all", "floor", "scale", "sla", "routing"), default="all")
    parser.add_argument("--agents", type=int, help="agents on the floor (200)")
    parser.add_argument("--handle-mean-s", type=float, help="mean handle time of a ticket, exponential (2 s)")
    parser.add_argument("--smtp-share", type=float, help="share of tickets sent by SMTP (0.1)")
    parser.add_argument("--step-s", type=float, help="seconds per step of offered load (25; quick 8)")
    parser.add_argument("--rates", help="comma-separated fixed offered rates, before the search (100,500)")
    parser.add_argument("--max-steps", type=int, help="load steps in all, the two fixed ones included (8; quick 4)")
    parser.add_argument(
        "--latency-steps", type=int, help="steps after those, for the highest rate with p99 <= 250 ms (4; quick 2)"
    )
    parser.add_argument(
        "--drain-s", type=float, help="longest wait for a step's tickets to be assigned (600; quick 300)"
    )
    parser.add_argument("--idle-s", type=float, help="seconds of the idle measurement (30; quick 10)")
    parser.add_argument("--replica-tickets", type=int, help="tickets per router-replica run (3000; quick 800)")
    parser.add_argument("--replica-pairs", type=int, help="rounds with 1 router then 2, alternated (2; quick 1)")
    parser.add_argument("--backlog", type=int, help="tickets in the backlog to drain (10000; quick 2000)")
    parser.add_argument("--scale-agents", help="comma-separated agent counts (20,200,2000; quick 20,200)")
    parser.add_argument("--scale-waiting", help="comma-separated waiting counts (1000,10000,100000; quick 1000,10000)")
    parser.add_argument("--out", type=Path, help="where latest.json and latency.png go")
    parser.add_argument("--tickets", type=int, default=2000, help="--part routing: tickets per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="--part routing: concurrent webhook senders")
    parser.add_argument("--profile", help="--part routing: run the router under cProfile and write its stats here")
    args = parser.parse_args(argv)
    options = Options.quick_run() if args.quick else Options()
    changes: dict[str, Any] = {"part": args.part, "out": args.out}
    for name in (
        "agents",
        "handle_mean_s",
        "smtp_share",
        "step_s",
        "drain_s",
        "max_steps",
        "latency_steps",
        "idle_s",
        "replica_tickets",
        "replica_pairs",
        "backlog",
    ):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for name in ("scale_agents", "scale_waiting", "rates"):
        if getattr(args, name):
            changes[name] = tuple(int(x) for x in getattr(args, name).split(","))
    profile = os.path.abspath(args.profile) if args.profile else None
    return replace(options, **changes), (args.tickets, args.concurrency, profile)


if __name__ == "__main__":
    opts, legacy_args = parse()
    asyncio.run(main(opts, legacy_args))
