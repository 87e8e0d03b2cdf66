"""Policy validation: every problem names its field, in words that say what would be accepted."""

from __future__ import annotations

import pytest

from services.escalation.domain.policy import Action, Level, Policy, Trigger, validate

NOTIFY = Action("notify", channel="slack", target="https://hooks.slack.example/T1")


def policy(*, triggers=(Trigger("sla_breached"),), levels=(Level(0, (NOTIFY,)),)) -> Policy:
    return Policy(id="p", name="P", triggers=tuple(triggers), levels=tuple(levels))


def fields(p: Policy, known=("tier2",)) -> dict[str, str]:
    return {problem.field: problem.message for problem in validate(p, known)}


def test_a_good_policy_has_no_problems() -> None:
    good = policy(
        levels=(
            Level(0, (Action("move_to_queue", queue="tier2"), Action("raise_priority", priority="urgent"), NOTIFY)),
            Level(600, (Action("notify", channel="email", target="lead@acme.example"),)),
        )
    )
    assert validate(good, ["tier2"]) == []


def test_an_unknown_queue_is_named_with_its_field_path() -> None:
    problems = fields(policy(levels=(Level(0, (NOTIFY, Action("move_to_queue", queue="tier3"))),)))
    assert "unknown queue 'tier3'" in problems["levels.0.actions.1.queue"]


@pytest.mark.parametrize(
    ("bad", "field", "says"),
    [
        (policy(triggers=()), "triggers", "at least one trigger"),
        (policy(triggers=(Trigger("solar_flare"),)), "triggers.0.kind", "unknown trigger 'solar_flare'"),
        (policy(triggers=(Trigger("sla_breached", metrics=("lunch",)),)), "triggers.0.metrics.0", "unknown SLA metric"),
        (policy(triggers=(Trigger("keywords"),)), "triggers.0.keywords", "is empty"),
        (policy(triggers=(Trigger("keywords", keywords=("  ",)),)), "triggers.0.keywords.0", "blank"),
        (policy(triggers=(Trigger("reopened", times=0),)), "triggers.0.times", "at least once"),
        (policy(triggers=(Trigger("unassigned_wait"),)), "triggers.0.wait_s", "1 to"),
        (policy(triggers=(Trigger("tier"),)), "triggers.0.tiers", "is empty"),
        (policy(levels=()), "levels", "at least one level"),
        (policy(levels=(Level(-5, (NOTIFY,)),)), "levels.0.delay_s", "is -5"),
        (policy(levels=(Level(0, ()),)), "levels.0.actions", "is empty"),
        (policy(levels=(Level(0, (Action("teleport"),)),)), "levels.0.actions.0.type", "unknown action"),
        (
            policy(levels=(Level(0, (Action("raise_priority", priority="asap"),)),)),
            "levels.0.actions.0.priority",
            "one of",
        ),
        (policy(levels=(Level(0, (Action("assign_agent"),)),)), "levels.0.actions.0.agent_id", "is missing"),
        (policy(levels=(Level(0, (Action("add_tags"),)),)), "levels.0.actions.0.tags", "is empty"),
        (
            policy(levels=(Level(0, (Action("notify", channel="pager", target="x"),)),)),
            "levels.0.actions.0.channel",
            "one of webhook",
        ),
        (
            policy(levels=(Level(0, (Action("notify", channel="webhook", target="ftp://x"),)),)),
            "levels.0.actions.0.target",
            "not an http(s) URL",
        ),
        (
            policy(levels=(Level(0, (Action("notify", channel="email", target="nobody"),)),)),
            "levels.0.actions.0.target",
            "not an email address",
        ),
    ],
)
def test_each_problem_names_its_field(bad: Policy, field: str, says: str) -> None:
    problems = fields(bad)
    assert field in problems, problems
    assert says in problems[field]


def test_every_problem_is_reported_not_just_the_first() -> None:
    bad = policy(triggers=(Trigger("nope"),), levels=(Level(-1, (Action("move_to_queue", queue="gone"),)),))
    assert set(fields(bad)) == {"triggers.0.kind", "levels.0.delay_s", "levels.0.actions.0.queue"}
