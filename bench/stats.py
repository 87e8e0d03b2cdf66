"""The arithmetic of the floor benchmark: percentiles, whether a load step was sustained, which rates to
try next, and the shape of `bench/results/latest.json`. Pure functions, no I/O (tests/unit/bench)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: the keys `latest.json` has, in this order; extra detail goes under `detail`
RESULT_KEYS: tuple[str, ...] = (
    "throughput_tps",
    "p99_assigned_ms_at_500",
    "p50_assigned_ms_at_500",
    "sla_lateness_p99_s",
    "open_timers",
    "router_replicas_speedup",
    "idle_cpu_pct",
    "limits",
    "machine",
    "timestamp",
)
LIMIT_KEYS: tuple[str, ...] = ("pg_commits_per_s", "kafka_msgs_per_s")
P99_TARGET_MS = 250.0


def percentile(values: Iterable[float], q: float) -> float:
    """The q-quantile (0..1) interpolated between the closest ranks, as PostgreSQL's percentile_cont;
    NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be within 0..1, not {q}")
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """p50/p95/p99/max of a list of seconds, in milliseconds, and how many there were."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000 for s in seconds]
        top = max(ms) if ms else math.nan
        return cls(percentile(ms, 0.5), percentile(ms, 0.95), percentile(ms, 0.99), top, len(ms))

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: _finite(v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class StepCounts:
    """What one step of offered load did: the rate asked for over `duration_s`, how many the senders
    got accepted (202 / 250), how many of those an agent had by the end of the step and by the end of
    the grace period after it, and the backlog (accepted, not yet assigned) sampled through the step."""

    offered_rate: float
    duration_s: float
    accepted: int
    failed: int
    assigned_in_step: int
    assigned_after_grace: int
    backlog: Sequence[int] = field(default_factory=tuple)
    send_lag_p99_s: float = 0.0  # how late the generator sent its requests against their schedule

    @property
    def assigned_rate(self) -> float:
        return self.assigned_in_step / self.duration_s if self.duration_s > 0 else 0.0


def sustained(step: StepCounts, *, grace_s: float = 2.0, tolerance: float = 0.05) -> tuple[bool, str]:
    """Whether the system kept up with the step's offered rate, and why not: the senders got nearly all
    accepted on time, nearly all of them were assigned within `grace_s` after the step, and the backlog
    did not grow through the second half of the step by more than `grace_s` seconds of arrivals."""
    expected = step.offered_rate * step.duration_s
    if step.accepted < (1 - tolerance) * expected:
        return False, f"only {step.accepted} of {expected:.0f} offered were accepted"
    if step.send_lag_p99_s > grace_s:
        return False, f"the senders fell {step.send_lag_p99_s:.1f} s behind their schedule (p99)"
    if step.failed > tolerance * max(step.accepted, 1):
        return False, f"{step.failed} requests failed"
    if step.assigned_after_grace < (1 - tolerance) * step.accepted:
        return (
            False,
            f"only {step.assigned_after_grace} of {step.accepted} accepted were assigned {grace_s:.0f} s after",
        )
    half = list(step.backlog[len(step.backlog) // 2 :])
    if len(half) >= 2:
        growth = half[-1] - half[0]
        if growth > grace_s * step.offered_rate:
            return False, f"the backlog grew by {growth} in the second half of the step"
    return True, "kept up"


def next_rate(
    tried: Mapping[float, bool], *, start: float, factor: float = 1.5, resolution: float = 0.1
) -> float | None:
    """The next offered rate of the search for the highest sustained one, given the rates tried so far
    and whether each was sustained; None once the answer is known to within `resolution` (relative).
    Up by `factor` while every rate held, down by it while none did, then bisection between the
    highest that held and the lowest that did not."""
    if not tried:
        return start
    held = [r for r, ok in tried.items() if ok]
    failed = [r for r, ok in tried.items() if not ok]
    if not failed:
        return round(max(held) * factor)
    if not held:
        lowest = min(failed)
        candidate = round(lowest / factor)
        return candidate if candidate >= 1 and candidate < lowest else None
    best = max(held)
    above = min((r for r in failed if r > best), default=None)
    if above is None:
        return round(best * factor)
    if (above - best) / best <= resolution:
        return None
    middle = round((best + above) / 2)
    return middle if best < middle < above else None


def best_sustained(tried: Mapping[float, bool]) -> float | None:
    """The highest rate that held below the lowest one that did not (a lucky run above a failure does not count)."""
    failed = [r for r, ok in tried.items() if not ok]
    ceiling = min(failed, default=math.inf)
    held = [r for r, ok in tried.items() if ok and r < ceiling]
    return max(held, default=None)


def within_target(sustained: bool, p99_ms: float | None, target_ms: float = P99_TARGET_MS) -> bool:
    """A step held its rate with p99 to assigned at most the target (no p99: nothing was assigned)."""
    return sustained and p99_ms is not None and math.isfinite(p99_ms) and p99_ms <= target_ms


def highest_within(steps: Iterable[tuple[float, bool, float]], target_ms: float = P99_TARGET_MS) -> float | None:
    """Of steps given as (offered rate, sustained, p99 to assigned in ms), the highest rate sustained with p99 <= target."""
    rates = [rate for rate, ok, p99 in steps if within_target(ok, p99, target_ms)]
    return max(rates, default=None)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or not denominator or not math.isfinite(denominator):
        return None
    return numerator / denominator


def replica_totals(rounds: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Router-bound rounds with 1 and 2 routers (`routers`, `tickets`, `assigned`, `seconds`), summed per
    count: {"one": ..., "two": ...}, each rate being all its tickets assigned over all its seconds, so a
    slow round weighs by its length and not as one vote."""
    totals: dict[str, dict[str, Any]] = {}
    for name, routers in (("one", 1), ("two", 2)):
        mine = [r for r in rounds if r["routers"] == routers]
        if not mine:
            continue
        seconds = sum(r["seconds"] for r in mine)
        assigned = sum(r["assigned"] for r in mine)
        totals[name] = {
            "tickets": sum(r["tickets"] for r in mine),
            "assigned": assigned,
            "seconds": round(seconds, 2),
            "rate": round(assigned / seconds, 1) if seconds > 0 else None,
            "rounds": len(mine),
        }
    return totals


def flatness(times: Mapping[int, float]) -> float | None:
    """Largest over smallest of the times measured at several sizes: 1.0 is perfectly flat."""
    values = [v for v in times.values() if math.isfinite(v) and v > 0]
    return max(values) / min(values) if len(values) >= 2 else None


def result_document(values: Mapping[str, Any], detail: Mapping[str, Any]) -> dict[str, Any]:
    """`latest.json`: exactly RESULT_KEYS (each present, None when not measured) then `detail`."""
    unknown = set(values) - set(RESULT_KEYS)
    if unknown:
        raise ValueError(f"not result keys: {sorted(unknown)}")
    limits = values.get("limits") or {}
    missing = [k for k in LIMIT_KEYS if k not in limits]
    if missing:
        raise ValueError(f"limits lack {missing}")
    document: dict[str, Any] = {key: _clean(values.get(key)) for key in RESULT_KEYS}
    document["detail"] = _clean(dict(detail))
    return document


def check_document(document: Mapping[str, Any]) -> list[str]:
    """Problems with a `latest.json` document (empty when its shape is right)."""
    problems = [f"missing {k}" for k in RESULT_KEYS if k not in document]
    problems += [f"unexpected {k}" for k in document if k not in (*RESULT_KEYS, "detail")]
    limits = document.get("limits")
    if not isinstance(limits, Mapping):
        problems.append("limits is not an object")
    else:
        problems += [f"limits lacks {k}" for k in LIMIT_KEYS if k not in limits]
    for key in RESULT_KEYS:
        if key in ("limits", "machine", "timestamp"):
            continue
        value = document.get(key)
        if value is not None and not isinstance(value, int | float):
            problems.append(f"{key} is not a number")
    return problems


def _finite(value: float) -> float | None:
    return round(value, 3) if math.isfinite(value) else None


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, floats are rounded, tuples become lists."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
