"""Editing a rule set one rule at a time. Pure: every edit is a new draft (version 0) the caller validates and saves.

A rule set is ordered and its rule ids are unique, so "put" both adds and replaces: a rule whose
id is already in the set takes that rule's place unless a position says otherwise (which moves it).
"""

from __future__ import annotations

from collections.abc import Iterable

from services.router.domain.model import Rule, RuleActions, RuleSet

DRAFT_VERSION = 0  # the repository numbers a draft when it saves it


def draft(rules: Iterable[Rule], default: RuleActions) -> RuleSet:
    return RuleSet(version=DRAFT_VERSION, rules=tuple(rules), default=default)


def no_rules_yet(default_queue: str) -> RuleSet:
    """Before anyone writes a rule, every ticket waits in the default queue."""
    return draft((), RuleActions(queue=default_queue))


def with_rule(current: RuleSet, rule: Rule, position: int | None = None) -> RuleSet:
    """Add `rule`, or replace the rule with its id; at `position` (0 = first, past the end = last) when given,
    else where the replaced rule was, else last."""
    rules = list(current.rules)
    at = next((i for i, r in enumerate(rules) if r.id == rule.id), None)
    if at is not None:
        rules.pop(at)
    index = position if position is not None else (at if at is not None else len(rules))
    rules.insert(min(index, len(rules)), rule)
    return draft(rules, current.default)


def without_rule(current: RuleSet, rule_id: str) -> RuleSet | None:
    """The set minus the rule with this id; None when there is no such rule."""
    rules = tuple(r for r in current.rules if r.id != rule_id)
    if len(rules) == len(current.rules):
        return None
    return draft(rules, current.default)


def saved_as(ruleset: RuleSet, version: int) -> RuleSet:
    return RuleSet(version=version, rules=ruleset.rules, default=ruleset.default)
