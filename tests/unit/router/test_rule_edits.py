"""Editing a rule set one rule at a time: add, replace in place, move, delete; every edit is a draft."""

from __future__ import annotations

import pytest

from services.router.domain.model import Rule, RuleActions, RuleConditions, RuleSet
from services.router.domain.rule_edits import DRAFT_VERSION, no_rules_yet, saved_as, with_rule, without_rule

DEFAULT = RuleActions(queue="triage")


def rule(rule_id: str, queue: str = "billing") -> Rule:
    return Rule(id=rule_id, conditions=RuleConditions(tags_any=(rule_id,)), actions=RuleActions(queue=queue))


def current(*ids: str) -> RuleSet:
    return RuleSet(version=7, rules=tuple(rule(i) for i in ids), default=DEFAULT)


def ids(ruleset: RuleSet) -> list[str]:
    return [r.id for r in ruleset.rules]


@pytest.mark.parametrize(
    ("before", "put", "position", "after"),
    [
        pytest.param((), "a", None, ["a"], id="first rule"),
        pytest.param(("a", "b"), "c", None, ["a", "b", "c"], id="a new rule goes last"),
        pytest.param(("a", "b", "c"), "b", None, ["a", "b", "c"], id="a replaced rule keeps its place"),
        pytest.param(("a", "b"), "c", 0, ["c", "a", "b"], id="a new rule at the front"),
        pytest.param(("a", "b"), "c", 1, ["a", "c", "b"], id="a new rule in between"),
        pytest.param(("a", "b"), "c", 99, ["a", "b", "c"], id="a position past the end means last"),
        pytest.param(("a", "b", "c"), "c", 0, ["c", "a", "b"], id="moved to the front"),
        pytest.param(("a", "b", "c"), "a", 2, ["b", "c", "a"], id="moved to the end"),
        pytest.param(("a", "b", "c"), "a", 99, ["b", "c", "a"], id="moved past the end"),
    ],
)
def test_putting_a_rule_adds_replaces_or_moves_it(
    before: tuple[str, ...], put: str, position: int | None, after: list[str]
) -> None:
    edited = with_rule(current(*before), rule(put), position)
    assert ids(edited) == after
    assert edited.version == DRAFT_VERSION
    assert edited.default == DEFAULT


def test_a_replaced_rule_is_the_new_one() -> None:
    edited = with_rule(current("a", "b"), rule("a", queue="vip"))
    assert [r.actions.queue for r in edited.rules] == ["vip", "billing"]


@pytest.mark.parametrize(
    ("before", "delete", "after"),
    [
        pytest.param(("a", "b", "c"), "b", ["a", "c"], id="from the middle"),
        pytest.param(("a",), "a", [], id="the last one"),
        pytest.param(("a", "b"), "x", None, id="no such rule"),
        pytest.param((), "a", None, id="no rules at all"),
    ],
)
def test_deleting_a_rule(before: tuple[str, ...], delete: str, after: list[str] | None) -> None:
    edited = without_rule(current(*before), delete)
    if after is None:
        assert edited is None
    else:
        assert edited is not None
        assert ids(edited) == after
        assert edited.version == DRAFT_VERSION


def test_without_rules_every_ticket_goes_to_the_default_queue() -> None:
    assert no_rules_yet("inbox") == RuleSet(version=DRAFT_VERSION, rules=(), default=RuleActions(queue="inbox"))


def test_a_saved_draft_carries_its_version() -> None:
    draft = with_rule(current("a"), rule("b"))
    assert saved_as(draft, 8) == RuleSet(version=8, rules=draft.rules, default=draft.default)
