"""The bench's floor is one the product accepts, and its report is built from what a run measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import floor, report, stats
from services.ingest.domain.inbound import InboundTicket
from services.ingest.webhooks.payloads import generic
from services.router.domain import decide
from services.router.domain.rules import match_rules, validate_ruleset
from services.router.entrypoints.schemas import AgentIn, QueueIn, RuleSetIn


def test_queues_rules_and_agents_pass_the_routers_own_validation() -> None:
    for name, config in floor.QUEUES.items():
        QueueIn(**config).to_domain(name)
    ruleset = RuleSetIn(**floor.RULES).to_domain()
    assert validate_ruleset(ruleset, set(floor.QUEUES)) == []
    specs = floor.agents(200)
    assert len({s.agent_id for s in specs}) == 200
    for spec in specs:
        AgentIn(**spec.body)
    teams = {s.body["team"] for s in specs}
    assert teams == set(floor.TEAMS)
    assert floor.slots(200) == {"email": 1200, "webhook": 1200, "chat": 400, "api": 800, "total": 2000}


def test_every_queue_has_agents_with_the_skills_it_requires() -> None:
    specs = floor.agents(200)
    for name, config in floor.QUEUES.items():
        required = config.get("required_skills", {})
        able = [s for s in specs if all(s.body["skills"].get(k, 0) >= v for k, v in required.items())]
        assert len(able) >= 5, name


def test_webhook_bodies_are_what_ingests_generic_parser_accepts() -> None:
    customers = floor.Customers(floor.synthetic_samples(50))
    for _ in range(50):
        (command,) = generic.parse(customers.webhook(), source=floor.SOURCE)
        assert isinstance(command, InboundTicket)
        assert command.language is not None  # given, so ingest need not detect it


def test_the_corpus_tickets_reach_several_queues_through_the_rules() -> None:
    samples = floor.load_samples()
    assert len(samples) >= 50
    customers = floor.Customers(samples)
    ruleset = RuleSetIn(**floor.RULES).to_domain()
    queues = {match_rules(ruleset, decide.facts_of(customers.received())).actions.queue for _ in range(600)}
    assert {"triage", "technical", "tier2", "vip"} <= queues


def _step(rate: float, ok: bool, p99: float, assigned_rate: float) -> dict[str, Any]:
    latency = {"p50_ms": p99 / 3, "p95_ms": p99 / 1.5, "p99_ms": p99, "max_ms": p99 * 1.2, "count": 100}
    return {
        "offered_rate": rate,
        "duration_s": 10.0,
        "accepted": int(rate * 10),
        "failed": 0,
        "smtp": 5,
        "assigned_rate": assigned_rate,
        "sustained": ok,
        "reason": "kept up" if ok else "the backlog grew",
        "to_kafka": latency,
        "to_routed": latency,
        "to_assigned": latency,
        "to_assigned_webhook": latency,
        "to_assigned_smtp": latency,
        "processes": {"router": {"cpu_pct": 80.0, "rss_mb": 120.0}},
    }


def _floor_result() -> dict[str, Any]:
    return {
        "steps": [_step(100, True, 120.0, 99.0), _step(500, False, 9000.0, 210.0), _step(300, True, 400.0, 296.5)],
        "idle": {"seconds": 30, "stack_cpu_pct": 4.5, "processes": {"router": {"cpu_pct": 1.0, "rss_mb": 90.0}}},
        "replicas": {"one": {"tickets": 100, "rate": 150.0}, "two": {"tickets": 100, "rate": 120.0}},
        "highest_within_250ms": 100,
    }


LIMITS = {
    "kafka_produce_per_s": 20000.0,
    "kafka_produce_consume_per_s": 10000.0,
    "pg_commits_per_s_1": 1000.0,
    "pg_commits_per_s_16": 5000.0,
}


def test_summary_takes_the_highest_sustained_step_and_the_500_step() -> None:
    values = report.summarise(LIMITS, _floor_result(), {"lateness_p99_s": 0.12, "open_timers": 200_000})
    assert values["throughput_tps"] == 296.5
    assert values["p99_assigned_ms_at_500"] == 9000.0
    assert values["p50_assigned_ms_at_500"] == 3000.0
    assert values["router_replicas_speedup"] == 0.8
    assert values["idle_cpu_pct"] == 4.5
    assert values["limits"]["throughput_share_of_pg_16"] == 296.5 / 5000.0
    doc = report.document(values, {"floor": _floor_result()}, {"cpus": 2})
    assert stats.check_document(doc) == []


def test_parts_not_run_are_none_not_zero() -> None:
    values = report.summarise(LIMITS, None, None)
    doc = report.document(values, {}, {"cpus": 2})
    assert doc["throughput_tps"] is None
    assert doc["sla_lateness_p99_s"] is None
    assert doc["limits"]["kafka_msgs_per_s"] == 10000.0
    assert any("not measured" in value for _, value in report.rows(doc))


def test_write_keeps_json_and_draws_the_chart(tmp_path: Path) -> None:
    values = report.summarise(LIMITS, _floor_result(), None)
    doc = report.document(values, {"floor": _floor_result()}, {"cpus": 2})
    json_path, png = report.write(doc, tmp_path)
    assert json.loads(json_path.read_text(encoding="utf-8"))["throughput_tps"] == 296.5
    assert png is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
