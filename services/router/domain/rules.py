"""Routing rules: which queue (and priority, skills, tags) a new ticket gets, and why. Pure.

Matching (``match_rules``): rules are tried in order; the first *enabled* rule whose conditions
all hold wins, otherwise the rule set's default applies. Within ``RuleConditions``:

* every condition that is not None must hold (AND); a tuple holds when any of its values does (OR);
* strings compare case-insensitively (``str.casefold``): channel, brand, inbox, tier
  (``requester_tier``), organization, priority, tags, language and string custom-field values;
* ``language`` uses RFC 4647 basic filtering: the rule's tag matches the ticket's tag when equal
  or a prefix of it at a subtag boundary, so rule "de" matches "de" and "de-AT", rule "de-AT"
  matches "de-AT" but not plain "de" or "de-CH" ("_" is read as "-");
* ``vip`` is an exact bool; ``custom_fields`` needs every listed field equal (a missing field
  fails; bools only equal bools, so True never equals 1);
* ``tags_any`` any present, ``tags_all`` all present, ``tags_none`` none present;
* ``keywords``: any keyword appears as a *whole word or phrase* in the subject or the body
  preview, case-insensitively (casefolded, so "STRASSE" finds "Straße") and unicode-aware. The
  keyword must not be glued to a letter, digit or underscore on either side: "refund" matches
  "Refund!", "a refund." and "refund-request" but not "refunded", "refunds" or "prerefund". No
  stemming: list the variants you want ("refund", "refunds", "refunded"). Runs of whitespace
  inside a phrase match any whitespace ("money back" finds "money\\n back"). Blank keywords
  never match (and ``validate_ruleset`` refuses them).

Conditions are checked in a fixed order: channel, brand, inbox, priority, language, tags_any,
tags_all, tags_none, tier, vip, organization, custom_fields, keywords. A failing rule reports the
first condition in that order that did not hold; a match explains what held, in the same order.
Every decision carries a trace of the rules it looked at and a one-line explanation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from services.router.domain.model import PRIORITY_RANK, RuleActions, RuleConditions, RuleSet, TicketFacts

CHANNELS: tuple[str, ...] = ("email", "chat", "webhook", "api")
PRIORITIES: tuple[str, ...] = tuple(sorted(PRIORITY_RANK, key=PRIORITY_RANK.__getitem__, reverse=True))
SKILL_LEVELS = range(1, 11)


@dataclass(frozen=True)
class RuleEvaluation:
    rule_id: str
    matched: bool
    failed: str | None  # the first condition that did not hold, as a sentence; "disabled"; None when matched


@dataclass(frozen=True)
class RuleMatch:
    rule_id: str | None  # None: the default applied
    actions: RuleActions
    trace: tuple[RuleEvaluation, ...]  # every rule looked at, in order, up to and including the match
    explanation: str


def match_rules(ruleset: RuleSet, facts: TicketFacts) -> RuleMatch:
    """The first enabled rule whose conditions all hold, else the default."""
    trace: list[RuleEvaluation] = []
    for rule in ruleset.rules:
        if not rule.enabled:
            trace.append(RuleEvaluation(rule.id, False, "disabled"))
            continue
        held, failed = _evaluate(rule.conditions, facts)
        if failed is not None:
            trace.append(RuleEvaluation(rule.id, False, failed))
            continue
        trace.append(RuleEvaluation(rule.id, True, None))
        because = ", ".join(held) if held else "no conditions (matches every ticket)"
        return RuleMatch(rule.id, rule.actions, tuple(trace), f"rule {rule.id} matched: {because}")
    return RuleMatch(None, ruleset.default, tuple(trace), f"no rule matched; default: queue {ruleset.default.queue}")


# --- evaluation -------------------------------------------------------------------------------


def _evaluate(conditions: RuleConditions, facts: TicketFacts) -> tuple[list[str], str | None]:
    """What held (for the explanation) and the first failure sentence (None: all held)."""
    held: list[str] = []
    for name, check in _CHECKS:
        wanted = getattr(conditions, name)
        if wanted is None:
            continue
        ok, text = check(wanted, facts)
        if not ok:
            return held, text
        held.append(text)
    return held, None


def _fold(value: str) -> str:
    return value.casefold()


def _values(wanted: Any) -> tuple[Any, ...]:
    """A condition's values; a lone string (a config slip) counts as one value, not its characters."""
    if isinstance(wanted, str):
        return (wanted,)
    return tuple(wanted)


def _either(values: Iterable[Any]) -> str:
    shown = [str(v) for v in values]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _one_of(label: str, attribute: str) -> Callable[[Any, TicketFacts], tuple[bool, str]]:
    def check(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
        actual = getattr(facts, attribute)
        values = _values(wanted)
        if actual is not None and _fold(str(actual)) in {_fold(str(v)) for v in values}:
            return True, f"{label} {actual}"
        return False, f"{label} is {'unset' if actual is None else actual}, rule wants {_either(values)}"

    return check


def _check_vip(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    if not isinstance(wanted, bool):
        return False, f"vip condition {wanted!r} is not true or false"
    if facts.vip == wanted:
        return True, "vip" if facts.vip else "not vip"
    if facts.vip:
        return False, "requester is VIP, rule wants non-VIP"
    return False, "requester is not VIP, rule wants VIP"


def _ticket_tags(facts: TicketFacts) -> set[str]:
    return {_fold(t) for t in facts.tags}


def _check_tags_any(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    values = _values(wanted)
    present = _ticket_tags(facts)
    found = [v for v in values if _fold(v) in present]
    if found:
        return True, f"tags_any {_listed(found)}"
    return False, f"no tag of {_listed(values)}"


def _check_tags_all(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    values = _values(wanted)
    present = _ticket_tags(facts)
    missing = [v for v in values if _fold(v) not in present]
    if missing:
        return False, f"tag {_listed(missing)} missing, rule wants all of {_listed(values)}"
    return True, f"tags_all {_listed(values)}"


def _check_tags_none(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    values = _values(wanted)
    present = _ticket_tags(facts)
    found = [v for v in values if _fold(v) in present]
    if found:
        return False, f"tag {_listed(found)} present, rule wants none of {_listed(values)}"
    return True, f"tags_none {_listed(values)}"


def _language_tag(tag: str) -> str:
    return _fold(tag.strip().replace("_", "-"))


def language_matches(rule_tag: str, ticket_tag: str) -> bool:
    """RFC 4647 basic filtering: "de" matches "de" and "de-AT"; "de-AT" does not match "de"."""
    rule, ticket = _language_tag(rule_tag), _language_tag(ticket_tag)
    return bool(rule) and (ticket == rule or ticket.startswith(rule + "-"))


def _check_language(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    values = _values(wanted)
    if facts.language is not None and any(language_matches(v, facts.language) for v in values):
        return True, f"language {facts.language}"
    return False, f"language is {facts.language or 'unset'}, rule wants {_either(values)}"


_MISSING = object()


def _field_equals(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return isinstance(actual, bool) and isinstance(wanted, bool) and actual == wanted
    if isinstance(actual, str) and isinstance(wanted, str):
        return _fold(actual) == _fold(wanted)
    try:
        return bool(actual == wanted)
    except Exception:  # an exotic value whose __eq__ misbehaves never matches
        return False


def _check_custom_fields(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    held = []
    for name, value in wanted.items():
        actual = facts.custom_fields.get(name, _MISSING)
        if actual is _MISSING or actual is None:
            return False, f"custom field {name} is unset, rule wants {value}"
        if not _field_equals(actual, value):
            return False, f"custom field {name} is {actual}, rule wants {value}"
        held.append(f"{name}={actual}")
    return True, f"custom_fields {_listed(held)}"


@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    words = _fold(keyword).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def keyword_found(keyword: str, text: str) -> bool:
    """Whole word or phrase, casefolded, unicode word boundaries (see the module docstring)."""
    pattern = _keyword_pattern(keyword)
    return pattern is not None and pattern.search(_fold(text)) is not None


def _check_keywords(wanted: Any, facts: TicketFacts) -> tuple[bool, str]:
    values = _values(wanted)
    found = [k for k in values if keyword_found(k, facts.subject) or keyword_found(k, facts.body_preview)]
    if found:
        return True, f"keywords {_listed(found)}"
    return False, f"no keyword of {_listed(values)} in subject or body"


# Evaluation order (also the order of the explanation, and what "the first condition that did not
# hold" refers to): the ticket's own attributes, its tags, the requester, custom fields, and the
# text search last (the most expensive check).
_CHECKS: tuple[tuple[str, Callable[[Any, TicketFacts], tuple[bool, str]]], ...] = (
    ("channel", _one_of("channel", "channel")),
    ("brand", _one_of("brand", "brand")),
    ("inbox", _one_of("inbox", "inbox")),
    ("priority", _one_of("priority", "priority")),
    ("language", _check_language),
    ("tags_any", _check_tags_any),
    ("tags_all", _check_tags_all),
    ("tags_none", _check_tags_none),
    ("tier", _one_of("tier", "requester_tier")),
    ("vip", _check_vip),
    ("organization", _one_of("organization", "organization")),
    ("custom_fields", _check_custom_fields),
    ("keywords", _check_keywords),
)
assert {name for name, _ in _CHECKS} == {f.name for f in fields(RuleConditions)}, "a condition has no check"


# --- validation -------------------------------------------------------------------------------

_ENUMERATED = {"channel": ("channel", CHANNELS), "priority": ("priority", PRIORITIES)}
_TUPLE_CONDITIONS = tuple(f.name for f in fields(RuleConditions) if f.name not in ("vip", "custom_fields"))


def validate_ruleset(ruleset: RuleSet, queue_names: Collection[str]) -> list[str]:
    """Every problem, one message each, naming the rule and field; empty means the rule set is usable."""
    problems: list[str] = []
    queues = set(queue_names)
    first_with_id: dict[str, int] = {}
    enabled_by_conditions: dict[tuple[Any, ...], int] = {}
    last = len(ruleset.rules) - 1
    for index, rule in enumerate(ruleset.rules):
        where = f"rules[{index}] ({rule.id})"
        if not isinstance(rule.id, str) or not rule.id.strip():
            problems.append(f"{where}: id is empty")
        elif rule.id in first_with_id:
            problems.append(f"{where}: id {rule.id!r} is already used by rules[{first_with_id[rule.id]}]")
        else:
            first_with_id[rule.id] = index
        problems += _actions_problems(where, "actions.", rule.actions, queues)
        problems += _conditions_problems(where, rule.conditions)

        if rule.enabled and _has_no_conditions(rule.conditions) and index != last:
            after = last - index
            problems.append(
                f"{where}: has no conditions, so it matches every ticket and shadows the "
                f"{after} rule{'s' if after != 1 else ''} after it; make it the last rule or use the default"
            )
        key = _conditions_key(rule.conditions)
        earlier = enabled_by_conditions.get(key)
        if earlier is not None:
            problems.append(
                f"{where}: conditions are the same as rules[{earlier}] ({ruleset.rules[earlier].id}), "
                "so it can never match"
            )
        elif rule.enabled:
            enabled_by_conditions[key] = index
    problems += _actions_problems("default", "", ruleset.default, queues)
    return problems


def _actions_problems(where: str, prefix: str, actions: RuleActions, queues: set[str]) -> list[str]:
    problems = []
    if actions.queue not in queues:
        problems.append(f"{where}: {prefix}queue {actions.queue!r} is not a queue")
    if actions.priority is not None and actions.priority not in PRIORITY_RANK:
        problems.append(f"{where}: {prefix}priority {actions.priority!r} is not a priority ({_listed(PRIORITIES)})")
    for skill, level in actions.required_skills.items():
        if not isinstance(skill, str) or not skill.strip():
            problems.append(f"{where}: {prefix}required_skills has an empty skill name")
        if isinstance(level, bool) or not isinstance(level, int) or level not in SKILL_LEVELS:
            problems.append(f"{where}: {prefix}required_skills.{skill} level {level!r} is not an integer 1..10")
    return problems


def _conditions_problems(where: str, conditions: RuleConditions) -> list[str]:
    problems = []
    for name in _TUPLE_CONDITIONS:
        wanted = getattr(conditions, name)
        if wanted is None:
            continue
        values = _values(wanted)
        if not values:
            if name in ("tags_all", "tags_none"):
                problems.append(f"{where}: conditions.{name} is empty; it tests nothing (leave it out)")
            else:
                problems.append(f"{where}: conditions.{name} is empty; an empty list can never match")
            continue
        for position, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: conditions.{name}[{position}] is empty")
            elif name in _ENUMERATED:
                label, allowed = _ENUMERATED[name]
                if _fold(value) not in allowed:
                    problems.append(f"{where}: conditions.{name} {value!r} is not a {label} ({_listed(allowed)})")
    if conditions.vip is not None and not isinstance(conditions.vip, bool):
        problems.append(f"{where}: conditions.vip {conditions.vip!r} must be true or false")
    if conditions.custom_fields is not None and not conditions.custom_fields:
        problems.append(f"{where}: conditions.custom_fields is empty; it tests nothing (leave it out)")
    return problems


def _has_no_conditions(conditions: RuleConditions) -> bool:
    return all(getattr(conditions, f.name) is None for f in fields(RuleConditions))


def _hashable(value: Any) -> Any:
    if isinstance(value, str):
        return ("str", _fold(value))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return (type(value) is bool, value)


def _conditions_key(conditions: RuleConditions) -> tuple[Any, ...]:
    """Conditions normalised the way matching reads them: equal keys match exactly the same tickets."""
    key: list[Any] = []
    for f in fields(RuleConditions):
        wanted = getattr(conditions, f.name)
        if wanted is None or f.name == "vip":
            key.append(wanted)
        elif f.name == "custom_fields":
            key.append(frozenset((name, _hashable(value)) for name, value in wanted.items()))
        elif f.name == "keywords":
            key.append(frozenset(" ".join(_fold(str(v)).split()) for v in _values(wanted)))
        elif f.name == "language":
            key.append(frozenset(_language_tag(str(v)) for v in _values(wanted)))
        else:
            key.append(frozenset(_fold(str(v)) for v in _values(wanted)))
    return tuple(key)
