"""What the clocks announce (stable keys, each once) and when the service must look at a ticket again."""

from __future__ import annotations

from collections.abc import Sequence

from services.sla.domain.clocks import evaluate, targets_hash, transitions, wake_times
from services.sla.domain.model import Conditions, SlaConfig, TicketSla
from shared.events.base import Event
from tests.unit.sla import H, at, config, message, policy, priority, received, status, target

WARNED = config(
    policy("standard", target("first_reply", H, warn_before_s=600), target("resolution", 4 * H)),
    version=7,
)


def sla(history: Sequence[Event], minute: float, cfg: SlaConfig = WARNED) -> TicketSla:
    got = evaluate(history, cfg, at(minute))
    assert got is not None
    return got


def keyed(got: TicketSla) -> list[tuple[str, str]]:
    return [(t.key, t.at.strftime("%H:%M")) for t in transitions(got)]


APPLIED = f"applied:7:standard:{targets_hash(WARNED.policies[0].targets)}:{at(0).isoformat()}"


def test_an_unanswered_ticket_warns_then_breaches() -> None:
    assert keyed(sla([received()], 70)) == [
        (APPLIED, "09:00"),
        ("first_reply:0:warning", "09:50"),
        ("first_reply:0:breached", "10:00"),
    ]
    breached = [t for t in transitions(sla([received()], 70)) if t.kind == "breached"]
    assert breached[0].clock is not None and breached[0].clock.breached_at == at(60)


def test_a_reply_in_time_is_met_without_warning_or_breach() -> None:
    assert keyed(sla([received(), message(20)], 300)) == [
        (APPLIED, "09:00"),
        ("first_reply:0:met", "09:20"),
        ("resolution:0:breached", "13:00"),
    ]


def test_keys_are_stable_as_time_passes_and_only_grow() -> None:
    history = [received(), status(5, "new", "pending"), status(15, "pending", "open"), message(65)]
    seen: dict[str, str] = {}
    for minute in range(0, 300, 5):
        for t in transitions(sla(history, minute)):
            assert seen.setdefault(t.key, t.at.isoformat()) == t.at.isoformat()
    assert sorted(seen) == sorted(
        [
            APPLIED,
            "first_reply:0:paused:2026-11-23T09:05:00+00:00",
            "first_reply:0:resumed:2026-11-23T09:15:00+00:00",
            "first_reply:0:warning",  # 10:00, 50 minutes of counting after the 10 minute pause
            "first_reply:0:met",  # due 10:10, replied 10:05
            "resolution:0:paused:2026-11-23T09:05:00+00:00",
            "resolution:0:resumed:2026-11-23T09:15:00+00:00",
            "resolution:0:breached",  # due 13:10
        ]
    )
    assert seen["first_reply:0:warning"] == at(60).isoformat()
    assert seen["resolution:0:breached"] == at(250).isoformat()


def test_pause_and_resume_carry_the_status() -> None:
    got = sla([received(), status(5, "new", "on_hold"), status(15, "on_hold", "open")], 20)
    paused = [(t.kind, t.reason) for t in transitions(got) if t.key.startswith("first_reply")]
    assert paused == [("paused", "on_hold"), ("resumed", "on_hold")]


def test_a_priority_change_applies_a_new_policy_under_a_new_key() -> None:
    cfg = config(
        policy("urgent", target("first_reply", H // 2), conditions=Conditions(priority=("urgent",))),
        policy("normal", target("first_reply", 2 * H)),
    )
    before = [t for t in transitions(sla([received()], 10, cfg)) if t.kind == "applied"]
    after = [
        t for t in transitions(sla([received(), priority(20, "normal", "urgent")], 25, cfg)) if t.kind == "applied"
    ]
    assert before[0].key.startswith("applied:3:normal:") and before[0].at == at(0)
    assert after[0].key.startswith("applied:3:urgent:") and after[0].at == at(20)


def test_a_target_change_in_the_same_policy_changes_the_applied_key() -> None:
    longer = config(policy("standard", target("first_reply", 2 * H)), version=7)
    assert transitions(sla([received()], 1))[0].key != transitions(sla([received()], 1, longer))[0].key


def test_wake_times_are_the_future_warnings_and_breaches_of_running_clocks() -> None:
    assert wake_times(sla([received()], 10)) == (at(50), at(60), at(240))
    assert wake_times(sla([received()], 55)) == (at(60), at(240))
    assert wake_times(sla([received(), message(20)], 30)) == (at(240),)


def test_a_paused_or_finished_ticket_needs_no_wake_up() -> None:
    assert wake_times(sla([received(), status(5, "new", "pending")], 10)) == ()
    assert wake_times(sla([received(), message(5), status(10, "open", "solved")], 20)) == ()
