"""Each trigger kind against the signals it fires on, and those it must not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.escalation.domain.policy import Action, Level, Policy, Trigger
from services.escalation.domain.triggers import Signal, first_keyword, match, matching_trigger

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEVELS = (Level(0, (Action("raise_priority", priority="urgent"),)),)


def on(*triggers: Trigger, enabled: bool = True) -> Policy:
    return Policy(id="p", name="P", triggers=triggers, levels=LEVELS, enabled=enabled)


def signal(kind: str, **fields) -> Signal:
    return Signal(kind=kind, ticket_id="t-1", at=AT, **fields)


@pytest.mark.parametrize(
    ("trigger", "given", "fires"),
    [
        (Trigger("sla_breached"), signal("sla_breached", metric="first_reply"), True),
        (Trigger("sla_breached", metrics=("resolution",)), signal("sla_breached", metric="first_reply"), False),
        (Trigger("sla_breached", metrics=("first_reply",)), signal("sla_breached", metric="first_reply"), True),
        (Trigger("sla_breached"), signal("sla_warning", metric="first_reply"), False),
        (Trigger("sla_warning", metrics=("next_reply",)), signal("sla_warning", metric="next_reply"), True),
        (Trigger("reopened", times=2), signal("reopened", reopen_count=1), False),
        (Trigger("reopened", times=2), signal("reopened", reopen_count=2), True),
        (Trigger("reopened", times=2), signal("reopened", reopen_count=3), True),
        (Trigger("unassigned_wait", wait_s=900), signal("unassigned_wait", waited_s=899), False),
        (Trigger("unassigned_wait", wait_s=900), signal("unassigned_wait", waited_s=900), True),
        (Trigger("vip"), signal("ticket_received", vip=True), True),
        (Trigger("vip"), signal("ticket_received", vip=False), False),
        (Trigger("tier", tiers=("enterprise",)), signal("ticket_received", tier="Enterprise"), True),
        (Trigger("tier", tiers=("enterprise",)), signal("ticket_received", tier="free"), False),
        (Trigger("tier", tiers=("enterprise",)), signal("ticket_received"), False),
        (Trigger("bad_csat"), signal("bad_csat"), True),
        (Trigger("bad_csat"), signal("message", text="bad"), False),
        (Trigger("manual"), signal("manual"), True),
        (Trigger("sla_breached"), signal("manual"), False),
        (Trigger("keywords", keywords=("lawyer",)), signal("message", text="My LAWYER will call."), True),
        (Trigger("keywords", keywords=("lawyer",)), signal("ticket_received", text="lawyer"), True),
        (Trigger("keywords", keywords=("lawyer",)), signal("bad_csat", text="lawyer"), False),
    ],
)
def test_trigger_fires_only_on_its_signal(trigger: Trigger, given: Signal, fires: bool) -> None:
    assert match(on(trigger), given) is fires


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Please CANCEL my plan", "cancel"),
        ("cancel.", "cancel"),
        ("I want a cancellation", None),
        ("uncancel", None),
        ("chargeback!", "chargeback"),
        ("charge back", None),
        ("ich will KÜNDIGEN", "kündigen"),
        ("kündigenswert", None),
        ("call my\n  lawyer   now", "my lawyer"),
        ("ΑΚΎΡΩΣΗ παρακαλώ", "ακύρωση"),
        ("", None),
    ],
)
def test_keywords_match_whole_words_in_any_case_and_script(text: str, found: str | None) -> None:
    assert first_keyword(text, ("cancel", "chargeback", "kündigen", "my lawyer", "ακύρωση")) == found


def test_the_matching_trigger_labels_the_cause_and_disabled_policies_never_fire() -> None:
    both = on(Trigger("vip"), Trigger("keywords", keywords=("lawyer",)))
    assert matching_trigger(both, signal("ticket_received", text="my lawyer", vip=False)) == "keywords:lawyer"
    assert matching_trigger(on(Trigger("sla_breached")), signal("sla_breached", metric="resolution")) == (
        "sla_breached:resolution"
    )
    assert not match(on(Trigger("vip"), enabled=False), signal("ticket_received", vip=True))
