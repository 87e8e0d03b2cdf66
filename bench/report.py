"""What a run prints and keeps: the table, `latest.json` (stats.RESULT_KEYS plus `detail`) and the chart."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import stats

RESULTS = Path(__file__).resolve().parent / "results"


def _step_at(steps: list[dict[str, Any]], rate: float | None) -> dict[str, Any] | None:
    return next((s for s in steps if rate is not None and s["offered_rate"] == rate), None)


def summarise(
    limits: Mapping[str, float], floor: Mapping[str, Any] | None, sla: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The RESULT_KEYS values (None for a part not run) from the parts' own results."""
    steps: list[dict[str, Any]] = list(floor.get("steps") or []) if floor else []
    tried = {s["offered_rate"]: s["sustained"] for s in steps}
    best = stats.best_sustained(tried)
    best_step = _step_at(steps, best)
    at_500 = _step_at(steps, 500)
    replicas = floor.get("replicas") if floor else None
    throughput = best_step["assigned_rate"] if best_step else None
    pg16 = limits.get("pg_commits_per_s_16")
    kafka = limits.get("kafka_produce_consume_per_s")
    return {
        "throughput_tps": throughput,
        "p99_assigned_ms_at_500": at_500["to_assigned"]["p99_ms"] if at_500 else None,
        "p50_assigned_ms_at_500": at_500["to_assigned"]["p50_ms"] if at_500 else None,
        "sla_lateness_p99_s": sla.get("lateness_p99_s") if sla else None,
        "open_timers": sla.get("open_timers") if sla else None,
        "router_replicas_speedup": stats.ratio(replicas["two"]["rate"], replicas["one"]["rate"]) if replicas else None,
        "idle_cpu_pct": floor["idle"]["stack_cpu_pct"] if floor and floor.get("idle") else None,
        "limits": {
            "pg_commits_per_s": {"1_connection": limits.get("pg_commits_per_s_1"), "16_connections": pg16},
            "kafka_msgs_per_s": kafka,
            "kafka_produce_only_msgs_per_s": limits.get("kafka_produce_per_s"),
            "throughput_share_of_pg_16": stats.ratio(throughput, pg16),
            "throughput_share_of_kafka": stats.ratio(throughput, kafka),
        },
    }


def document(values: dict[str, Any], detail: Mapping[str, Any], machine: Mapping[str, Any]) -> dict[str, Any]:
    return stats.result_document(
        {**values, "machine": dict(machine), "timestamp": datetime.now(UTC).isoformat(timespec="seconds")}, detail
    )


def _ms(latency: Mapping[str, Any]) -> str:
    def one(key: str) -> str:
        value = latency.get(key)
        return "-" if value is None else f"{value:.0f}"

    return f"{one('p50_ms')} / {one('p95_ms')} / {one('p99_ms')} ms"


def _num(value: Any, fmt: str = "{:,.0f}", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "not measured"
    return fmt.format(value) + unit


def rows(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The printed table: headline figures, then the detail."""
    detail = doc["detail"]
    limits = doc["limits"]
    floor = detail.get("floor") or {}
    out = [
        ("fsync", str(detail.get("fsync"))),
        ("raw Kafka: aiokafka produce -> consume, acks=all, 1 KiB", _num(limits["kafka_msgs_per_s"], unit=" msg/s")),
        (
            "raw PostgreSQL: 1-row commits, 1 / 16 connections",
            " / ".join(_num(v) for v in limits["pg_commits_per_s"].values()) + " tx/s",
        ),
        (
            "sustained webhook -> assigned (highest offered rate that held)",
            _num(doc["throughput_tps"], unit=" tickets/s"),
        ),
        (
            "  as a share of PostgreSQL 16-connection commits / Kafka msgs",
            f"{_num(limits['throughput_share_of_pg_16'], '{:.1%}')} / {_num(limits['throughput_share_of_kafka'], '{:.1%}')}",
        ),
        ("highest offered rate with p99 to assigned <= 250 ms", _num(floor.get("highest_within_250ms"), unit=" /s")),
        ("highest assigned rate of any step, sustained or not", _num(floor.get("peak_assigned_rate"), unit=" /s")),
    ]
    for step in floor.get("steps", []):
        label = f"  {step['offered_rate']:.0f}/s offered ({step['smtp']} by SMTP): assigned/s, held?"
        out.append((label, f"{step['assigned_rate']:.0f}/s, {'yes' if step['sustained'] else 'no: ' + step['reason']}"))
        out.append(("    202 -> ticket.received on Kafka p50 / p95 / p99", _ms(step["to_kafka"])))
        out.append(("    202 -> routed   p50 / p95 / p99", _ms(step["to_routed"])))
        out.append(("    202 -> assigned p50 / p95 / p99", _ms(step["to_assigned"])))
        out.append(
            (
                "      webhooks only / SMTP only (250 -> assigned)",
                f"{_ms(step['to_assigned_webhook'])}; {_ms(step['to_assigned_smtp'])}",
            )
        )
        procs = step.get("processes", {})
        if step.get("load_average"):
            out.append(
                ("    machine load average (1 / 5 / 15 min)", " / ".join(f"{x:.1f}" for x in step["load_average"]))
            )
        out.append(
            (
                "    CPU % of a core / RSS MB",
                ", ".join(f"{n} {u['cpu_pct']:.0f}/{u['rss_mb']:.0f}" for n, u in procs.items()),
            )
        )
    idle = floor.get("idle")
    if idle:
        out.append(
            (
                f"idle stack, {idle['seconds']:.0f} s, no traffic: CPU % of one core",
                _num(doc["idle_cpu_pct"], "{:.2f}", " %"),
            )
        )
        out.append(("  by process", ", ".join(f"{n} {u['cpu_pct']:.2f}" for n, u in idle["processes"].items())))
    replicas = floor.get("replicas")
    if replicas:
        rounds = replicas.get("rounds") or []
        each = ", ".join(f"{r['routers']}: {r['rate']:.0f}" for r in rounds)
        per_round = rounds[0]["tickets"] if rounds else replicas["one"]["tickets"]
        out.append(
            (
                f"router-bound: {per_round} on Kafka a round, 1 router / 2 routers" + (f" ({each})" if each else ""),
                f"{replicas['one']['rate']:.0f} / {replicas['two']['rate']:.0f} /s, speedup {_num(doc['router_replicas_speedup'], '{:.2f}')}",
            )
        )
    drained = floor.get("drain")
    if drained:
        out.append(
            (
                f"backlog of {drained['backlog']:,} drained as {drained['agents']} agents come online",
                f"{drained['drain_s']:.1f} s ({drained['assigned']:,} assigned; routing them took {drained['routing_s']:.1f} s)",
            )
        )
        bound = floor.get("floor", {}).get("capacity_bound_tps")
        if bound:
            out.append(
                ("  floor's own bound (slots / handle time)", f"{drained['backlog'] / bound:.1f} s at {bound:.0f}/s")
            )
    scale = floor.get("scale")
    if scale:
        out.append(("time per dispatch (ms): waiting x agents", "ticket assigned / ticket waits / agent got room"))
        for cost in scale:
            ms = cost["ms"]
            out.append(
                (
                    f"  {cost['waiting']:>7,} waiting, {cost['agents']:>5,} agents",
                    " / ".join(
                        f"{ms[k]:.2f}" for k in ("dispatch_ticket_assigns", "dispatch_ticket_waits", "dispatch_for")
                    ),
                )
            )
    out.append(
        (
            "SLA: breach lateness p99 / open timers",
            f"{_num(doc['sla_lateness_p99_s'], '{:.3f}', ' s')} / {_num(doc['open_timers'])}",
        )
    )
    return out


def print_rows(table: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in table)
    print()
    for label, value in table:
        print(f"{label.ljust(width)}  {value}")


def write(doc: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path | None]:
    """`latest.json` and `latency.png` in `out_dir`; the chart only when there are load steps."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "latest.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    steps = (doc["detail"].get("floor") or {}).get("steps") or []
    return path, chart(steps, out_dir / "latency.png") if steps else None


def chart(steps: list[dict[str, Any]], path: Path) -> Path:
    """p50/p95/p99 from the 202 to assigned (solid) and to routed (dotted) against offered load."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(steps, key=lambda s: s["offered_rate"])
    rates = [s["offered_rate"] for s in ordered]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for key, colour in (("p50_ms", "tab:green"), ("p95_ms", "tab:orange"), ("p99_ms", "tab:red")):
        assigned = [s["to_assigned"][key] if s["to_assigned"][key] is not None else math.nan for s in ordered]
        routed = [s["to_routed"][key] if s["to_routed"][key] is not None else math.nan for s in ordered]
        ax.plot(rates, assigned, "o-", color=colour, label=f"{key[:3]} to assigned")
        ax.plot(rates, routed, "o:", color=colour, alpha=0.6, label=f"{key[:3]} to routed")
    for s in ordered:
        if not s["sustained"]:
            ax.axvspan(s["offered_rate"] * 0.98, s["offered_rate"] * 1.02, color="grey", alpha=0.2)
    ax.axhline(stats.P99_TARGET_MS, color="black", linestyle="--", linewidth=0.8, label="250 ms target")
    ax.set_xlabel("offered load, tickets/s (grey: not sustained)")
    ax.set_ylabel("ms from the webhook's 202 / SMTP's 250")
    ax.set_yscale("log")
    ax.set_title("Switchboard: latency against offered load")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
