"""The lifecycle with an advancing clock: levels fire in turn unless acknowledged; repeats fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.escalation.domain.levels import Acknowledge, Decision, Escalation, LevelDue, Open, Resolve, decide
from services.escalation.domain.policy import Action, Level, Policy, Trigger
from services.escalation.domain.triggers import Signal
from shared.clock import FakeClock
from shared.events.escalation import (
    EscalationAcknowledged,
    EscalationLevelReached,
    EscalationOpened,
    EscalationRequested,
    EscalationResolved,
)

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = Policy(
    id="breach",
    name="Breach",
    version=4,
    triggers=(Trigger("sla_breached"),),
    levels=(
        Level(0, (Action("move_to_queue", queue="tier2"), Action("raise_priority", priority="high"))),
        Level(
            600,
            (
                Action("raise_priority", priority="urgent"),
                Action("notify", channel="webhook", target="https://pager.example/hook", secret="s3cret"),
                Action("add_tags", tags=("escalated",)),
            ),
        ),
        Level(300, (Action("assign_agent", agent_id="lead"),)),
    ),
)
BREACH = Signal("sla_breached", "t-1", START, metric="first_reply", reason="first_reply breached")


def types(decision: Decision) -> list[type]:
    return [type(e) for e in decision.events]


class Run:
    """One escalation driven through `decide` as the handlers would, with its timer."""

    def __init__(self, policy: Policy = POLICY) -> None:
        self.clock = FakeClock(START)
        self.policy = policy
        self.escalation: Escalation | None = None
        self.timer: tuple[int, datetime] | None = None

    def apply(self, given) -> Decision:
        decision = decide(self.escalation, self.policy, given, self.clock.now())
        if decision.escalation is not None:
            self.escalation = decision.escalation
        if decision.clear_timers:
            self.timer = None
        if decision.timer is not None:
            self.timer = decision.timer
        return decision

    def advance(self, seconds: int) -> Decision | None:
        """Move the clock on; fire the timer if it is due (as the timer worker would)."""
        self.clock.advance(timedelta(seconds=seconds))
        if self.timer is None or self.timer[1] > self.clock.now():
            return None
        level, _ = self.timer
        self.timer = None
        return self.apply(LevelDue(level))


def test_level_1_fires_on_open_and_level_2_after_its_delay_without_ack() -> None:
    run = Run()
    opened = run.apply(Open(BREACH, "sla_breached:first_reply", "e-1"))
    assert opened.opened
    assert types(opened) == [EscalationOpened, EscalationRequested, EscalationLevelReached]
    request = opened.events[1]
    assert isinstance(request, EscalationRequested)
    assert (request.to_queue, request.priority, request.agent_id) == ("tier2", "high", None)
    assert run.timer == (2, START + timedelta(seconds=600))
    assert run.advance(599) is None
    second = run.advance(1)
    assert second is not None and run.escalation is not None and run.escalation.level == 2
    assert types(second) == [EscalationRequested, EscalationLevelReached]
    [page] = second.notifications
    assert page.idempotency_key == "esc:e-1:level:2:1"
    assert (page.channel, page.target, page.secret) == ("webhook", "https://pager.example/hook", "s3cret")
    reached = second.events[1]
    assert isinstance(reached, EscalationLevelReached)
    assert [a["outcome"] for a in reached.actions] == ["requested", "enqueued", "requested"]
    tagged = second.events[0]
    assert isinstance(tagged, EscalationRequested) and tagged.add_tags == ("escalated",)
    assert all("secret" not in a for a in reached.actions)
    third = run.advance(300)
    assert third is not None and run.escalation.level == 3 and run.timer is None
    assert run.advance(10_000) is None  # nothing after the last level


def test_acknowledged_in_time_no_further_level_fires() -> None:
    run = Run()
    run.apply(Open(BREACH, "sla_breached:first_reply", "e-1"))
    run.clock.advance(timedelta(seconds=120))
    acked = run.apply(Acknowledge("bea", "on it"))
    assert types(acked) == [EscalationAcknowledged] and acked.clear_timers
    assert run.escalation is not None and run.escalation.state == "acknowledged"
    assert run.escalation.acknowledged_by == "bea" and run.escalation.acknowledged_at == START + timedelta(seconds=120)
    assert run.advance(10_000) is None
    # a timer that was already claimed when the ack landed does nothing either
    assert decide(run.escalation, POLICY, LevelDue(2), run.clock.now()) == Decision()


def test_a_stale_or_repeated_timer_fires_nothing() -> None:
    run = Run()
    run.apply(Open(BREACH, "sla_breached:first_reply", "e-1"))
    run.clock.advance(timedelta(seconds=600))
    assert run.apply(LevelDue(2)).events
    assert run.apply(LevelDue(2)) == Decision()  # the same timer twice
    assert run.apply(LevelDue(4)) == Decision()  # skipping a level


def test_repeats_fold_into_the_open_escalation_without_paging() -> None:
    run = Run()
    run.apply(Open(BREACH, "sla_breached:first_reply", "e-1"))
    again = run.apply(Open(BREACH, "sla_breached:first_reply", "e-2"))
    assert not again.opened and again.events == () and again.notifications == () and again.timer is None
    assert [s.kind for s in again.steps] == ["folded"]
    assert run.escalation is not None and run.escalation.id == "e-1" and run.escalation.repeats == 1
    run.apply(Acknowledge("bea", "mine"))
    assert run.apply(Open(BREACH, "sla_breached:first_reply", "e-3")).steps[0].kind == "folded"


def test_lifecycle_refusals_and_nothing_after_resolve() -> None:
    run = Run()
    run.apply(Open(BREACH, "sla_breached:first_reply", "e-1"))
    resolved = run.apply(Resolve("mia", "customer called back"))
    assert types(resolved) == [EscalationResolved]
    assert run.escalation is not None and (run.escalation.resolved_by, run.escalation.resolved_reason) == (
        "mia",
        "customer called back",
    )
    assert "resolved" in (run.apply(Acknowledge("bea", "late")).refused or "")
    assert "resolved already" in (run.apply(Resolve("bea", "again")).refused or "")
    assert run.apply(LevelDue(2)) == Decision()


def test_a_level_with_a_delay_waits_even_as_the_first() -> None:
    quiet = Policy(
        id="q", name="Q", triggers=(Trigger("vip"),), levels=(Level(300, (Action("add_tags", tags=("vip",)),)),)
    )
    run = Run(quiet)
    opened = run.apply(Open(BREACH, "vip", "e-1"))
    assert types(opened) == [EscalationOpened] and run.timer == (1, START + timedelta(seconds=300))
    fired = run.advance(300)
    assert fired is not None and types(fired) == [EscalationRequested, EscalationLevelReached]
    tagging = fired.events[0]
    assert isinstance(tagging, EscalationRequested) and tagging.add_tags == ("vip",)
    assert (tagging.to_queue, tagging.priority, tagging.agent_id) == (None, None, None)


def test_a_person_may_start_at_a_higher_level_or_raise_an_open_one() -> None:
    manual = Signal("manual", "t-1", START, reason="customer threatens to leave", by="mia")
    run = Run()
    opened = run.apply(Open(manual, "manual", "e-1", start_level=2))
    assert run.escalation is not None and run.escalation.level == 2 and run.escalation.opened_by == "mia"
    assert run.timer == (3, START + timedelta(seconds=300))
    assert [s.kind for s in opened.steps] == ["opened", "level_reached"]
    raised = run.apply(Open(manual, "manual", "e-2", start_level=3))
    assert run.escalation.level == 3 and raised.events and run.timer is None
