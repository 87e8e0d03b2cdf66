"""Routing rules, table-driven: each condition matching and failing, ordering, defaults, validation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.router.domain.model import Rule, RuleActions, RuleConditions, RuleSet, TicketFacts
from services.router.domain.rules import RuleEvaluation, keyword_found, language_matches, match_rules, validate_ruleset

QUEUES = ("triage", "billing", "vip-billing", "refunds", "tier-2", "de-support")
DEFAULT = RuleActions(queue="triage")


def facts(**overrides: Any) -> TicketFacts:
    fields: dict[str, Any] = dict(
        ticket_id="t-1",
        channel="email",
        subject="Invoice question",
        body_preview="Hello, I have a question about my invoice.",
    )
    return TicketFacts(**{**fields, **overrides})


def rule(rule_id: str, queue: str = "billing", *, enabled: bool = True, **conditions: Any) -> Rule:
    return Rule(id=rule_id, conditions=RuleConditions(**conditions), actions=RuleActions(queue=queue), enabled=enabled)


def unchecked(value: object) -> Any:
    """A value the type checker would refuse: validation has to catch it at run time."""
    return value


def ruleset(*rules: Rule, default: RuleActions = DEFAULT) -> RuleSet:
    return RuleSet(version=1, rules=rules, default=default)


# --- each condition, holding and failing ------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "ticket", "failed"),
    [
        # channel
        (dict(channel=("email",)), dict(channel="email"), None),
        (dict(channel=("EMAIL",)), dict(channel="email"), None),
        (dict(channel=("chat",)), dict(channel="email"), "channel is email, rule wants chat"),
        (dict(channel=("chat", "webhook")), dict(channel="email"), "channel is email, rule wants chat or webhook"),
        (
            dict(channel=("chat", "webhook", "api")),
            dict(channel="email"),
            "channel is email, rule wants chat, webhook or api",
        ),
        # brand
        (dict(brand=("acme",)), dict(brand="ACME"), None),
        (dict(brand=("acme", "globex")), dict(brand="default"), "brand is default, rule wants acme or globex"),
        # inbox
        (dict(inbox=("billing@acme.example",)), dict(inbox="Billing@Acme.example"), None),
        (dict(inbox=("billing@acme.example",)), dict(inbox=None), "inbox is unset, rule wants billing@acme.example"),
        (
            dict(inbox=("billing@acme.example",)),
            dict(inbox="help@acme.example"),
            "inbox is help@acme.example, rule wants billing@acme.example",
        ),
        # tier
        (dict(tier=("gold", "platinum")), dict(requester_tier="Gold"), None),
        (dict(tier=("gold", "platinum")), dict(requester_tier=None), "tier is unset, rule wants gold or platinum"),
        (dict(tier=("gold",)), dict(requester_tier="silver"), "tier is silver, rule wants gold"),
        # vip
        (dict(vip=True), dict(vip=True), None),
        (dict(vip=False), dict(vip=False), None),
        (dict(vip=True), dict(vip=False), "requester is not VIP, rule wants VIP"),
        (dict(vip=False), dict(vip=True), "requester is VIP, rule wants non-VIP"),
        # organization
        (dict(organization=("Globex",)), dict(organization="globex"), None),
        (dict(organization=("globex",)), dict(organization="initech"), "organization is initech, rule wants globex"),
        (dict(organization=("globex",)), dict(organization=None), "organization is unset, rule wants globex"),
        # tags
        (dict(tags_any=("billing", "invoice")), dict(tags=("invoice", "de")), None),
        (dict(tags_any=("billing", "invoice")), dict(tags=("login",)), "no tag of billing, invoice"),
        (dict(tags_any=("billing",)), dict(tags=()), "no tag of billing"),
        (dict(tags_all=("billing", "vip")), dict(tags=("vip", "billing", "de")), None),
        (dict(tags_all=("billing", "vip")), dict(tags=("billing",)), "tag vip missing, rule wants all of billing, vip"),
        (dict(tags_all=("billing", "vip")), dict(tags=()), "tag billing, vip missing, rule wants all of billing, vip"),
        (dict(tags_none=("spam", "test")), dict(tags=("billing",)), None),
        (dict(tags_none=("spam", "test")), dict(tags=()), None),
        (dict(tags_none=("spam", "test")), dict(tags=("test",)), "tag test present, rule wants none of spam, test"),
        # priority
        (dict(priority=("high", "urgent")), dict(priority="urgent"), None),
        (dict(priority=("high", "urgent")), dict(priority="normal"), "priority is normal, rule wants high or urgent"),
        # language: case-insensitive, the rule's tag matches the ticket's tag or a more specific one
        (dict(language=("de",)), dict(language="de"), None),
        (dict(language=("de",)), dict(language="de-AT"), None),
        (dict(language=("DE",)), dict(language="de-at"), None),
        (dict(language=("de-AT",)), dict(language="de-at"), None),
        (dict(language=("de_AT",)), dict(language="de-AT"), None),
        (dict(language=("en", "de")), dict(language="de-CH"), None),
        (dict(language=("de-AT",)), dict(language="de"), "language is de, rule wants de-AT"),
        (dict(language=("de-AT",)), dict(language="de-CH"), "language is de-CH, rule wants de-AT"),
        (dict(language=("de",)), dict(language="en-GB"), "language is en-GB, rule wants de"),
        (dict(language=("de",)), dict(language=None), "language is unset, rule wants de"),
        # custom fields: every one equal, strings case-insensitively, bools only equal bools
        (dict(custom_fields={"plan": "enterprise"}), dict(custom_fields={"plan": "Enterprise", "seats": 10}), None),
        (
            dict(custom_fields={"plan": "enterprise", "seats": 50}),
            dict(custom_fields={"plan": "enterprise", "seats": 50}),
            None,
        ),
        (
            dict(custom_fields={"plan": "enterprise"}),
            dict(custom_fields={}),
            "custom field plan is unset, rule wants enterprise",
        ),
        (
            dict(custom_fields={"plan": "enterprise"}),
            dict(custom_fields={"plan": None}),
            "custom field plan is unset, rule wants enterprise",
        ),
        (
            dict(custom_fields={"plan": "enterprise", "seats": 50}),
            dict(custom_fields={"plan": "enterprise", "seats": 10}),
            "custom field seats is 10, rule wants 50",
        ),
        (dict(custom_fields={"escalated": True}), dict(custom_fields={"escalated": True}), None),
        (
            dict(custom_fields={"escalated": True}),
            dict(custom_fields={"escalated": 1}),
            "custom field escalated is 1, rule wants True",
        ),
        (
            dict(custom_fields={"seats": 10}),
            dict(custom_fields={"seats": "10"}),
            "custom field seats is 10, rule wants 10",
        ),
        # keywords: whole words or phrases, subject or body, case-insensitive
        (dict(keywords=("refund", "chargeback")), dict(subject="Refund!"), None),
        (
            dict(keywords=("refund", "chargeback")),
            dict(subject="Order 1234", body_preview="This is a CHARGEBACK notice."),
            None,
        ),
        (dict(keywords=("money back",)), dict(body_preview="I want my money back now"), None),
        (
            dict(keywords=("refund",)),
            dict(subject="Already refunded?", body_preview="refunds take long"),
            "no keyword of refund in subject or body",
        ),
        (
            dict(keywords=("refund", "chargeback")),
            dict(subject="Invoice", body_preview="Please send a copy"),
            "no keyword of refund, chargeback in subject or body",
        ),
    ],
)
def test_each_condition_holds_or_fails_with_a_sentence(
    conditions: dict[str, Any], ticket: dict[str, Any], failed: str | None
) -> None:
    result = match_rules(ruleset(rule("r1", **conditions)), facts(**ticket))
    assert result.trace == (RuleEvaluation("r1", failed is None, failed),)
    assert result.rule_id == ("r1" if failed is None else None)


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("refund", "Refund!", True),
        ("refund", "I need a refund.", True),
        ("refund", "refund-request #44", True),
        ("refund", "(refund)", True),
        ("refund", "refunded", False),
        ("refund", "refunds", False),
        ("refund", "prerefund", False),
        ("refund", "refund_policy", False),  # underscore is a word character
        ("refund", "refund2", False),
        ("money back", "Money  Back guarantee", True),
        ("money back", "money\nback", True),
        ("money back", "moneyback", False),
        ("money back", "money backed", False),
        ("straße", "STRASSE gesperrt", True),  # casefolded
        ("zurückerstattung", "Bitte um Zurückerstattung.", True),
        ("café", "Les cafés", False),  # unicode letters are word characters
        ("café", "Un CAFÉ, s'il vous plaît", True),
        ("退款", "我要 退款 谢谢", True),
        ("c++", "my C++ licence", True),
        ("", "anything", False),
        ("   ", "anything at all", False),
    ],
)
def test_keywords_match_whole_words_and_phrases_only(keyword: str, text: str, found: bool) -> None:
    assert keyword_found(keyword, text) is found


@pytest.mark.parametrize(
    ("rule_tag", "ticket_tag", "matches"),
    [
        ("de", "de", True),
        ("de", "de-AT", True),
        ("de", "DE-at", True),
        ("de-AT", "de-AT", True),
        ("de-AT", "de", False),
        ("de", "deu", False),
        ("pt-BR", "pt-PT", False),
        ("", "de", False),
    ],
)
def test_language_uses_basic_filtering(rule_tag: str, ticket_tag: str, matches: bool) -> None:
    assert language_matches(rule_tag, ticket_tag) is matches


def test_a_lone_string_condition_counts_as_one_value_not_its_letters() -> None:
    result = match_rules(ruleset(rule("r1", channel="chat")), facts(channel="c"))
    assert result.trace[0].failed == "channel is c, rule wants chat"


# --- several conditions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticket", "failed"),
    [
        (dict(channel="email", tags=("billing",), vip=True), None),
        (
            dict(channel="chat", tags=("login",), vip=False),
            "channel is chat, rule wants email",
        ),  # the first failing one
        (dict(channel="email", tags=("login",), vip=False), "no tag of billing, invoice"),
        (dict(channel="email", tags=("invoice",), vip=False), "requester is not VIP, rule wants VIP"),
    ],
)
def test_all_conditions_must_hold_and_the_first_failing_one_is_reported(
    ticket: dict[str, Any], failed: str | None
) -> None:
    vip = rule("vip-billing", "vip-billing", channel=("email",), tags_any=("billing", "invoice"), vip=True)
    assert match_rules(ruleset(vip), facts(**ticket)).trace[0].failed == failed


def test_a_match_explains_what_held() -> None:
    vip = rule("vip-billing", "vip-billing", channel=("email",), tags_any=("billing", "invoice"), vip=True)
    result = match_rules(ruleset(vip), facts(tags=("billing", "de"), vip=True))
    assert result.explanation == "rule vip-billing matched: channel email, tags_any billing, vip"
    assert result.actions == RuleActions(queue="vip-billing")


# --- order, disabled rules, the default -------------------------------------------------------

RULES = ruleset(
    rule("spam", "triage", enabled=False, tags_any=("spam",)),
    rule("vip-billing", "vip-billing", tags_any=("billing",), vip=True),
    rule("billing", "billing", tags_any=("billing", "invoice")),
    rule("refunds", "refunds", keywords=("refund", "chargeback")),
    rule("german", "de-support", language=("de",)),
)


@pytest.mark.parametrize(
    ("ticket", "rule_id", "queue", "trace"),
    [
        (
            dict(tags=("billing",), vip=True),
            "vip-billing",
            "vip-billing",
            [("spam", "disabled"), ("vip-billing", None)],
        ),
        (
            dict(tags=("billing",), vip=False),
            "billing",
            "billing",
            [("spam", "disabled"), ("vip-billing", "requester is not VIP, rule wants VIP"), ("billing", None)],
        ),
        # billing comes before refunds: first match wins even though both hold
        (
            dict(tags=("invoice",), subject="Refund please"),
            "billing",
            "billing",
            [("spam", "disabled"), ("vip-billing", "no tag of billing"), ("billing", None)],
        ),
        (
            dict(subject="Refund please", language="de-AT"),
            "refunds",
            "refunds",
            [
                ("spam", "disabled"),
                ("vip-billing", "no tag of billing"),
                ("billing", "no tag of billing, invoice"),
                ("refunds", None),
            ],
        ),
        (
            dict(subject="Passwort vergessen", body_preview="", language="de-AT"),
            "german",
            "de-support",
            [
                ("spam", "disabled"),
                ("vip-billing", "no tag of billing"),
                ("billing", "no tag of billing, invoice"),
                ("refunds", "no keyword of refund, chargeback in subject or body"),
                ("german", None),
            ],
        ),
        # a disabled rule never matches, even when its conditions hold
        (
            dict(tags=("spam",), subject="Cheap watches", body_preview=""),
            None,
            "triage",
            [
                ("spam", "disabled"),
                ("vip-billing", "no tag of billing"),
                ("billing", "no tag of billing, invoice"),
                ("refunds", "no keyword of refund, chargeback in subject or body"),
                ("german", "language is unset, rule wants de"),
            ],
        ),
    ],
)
def test_rules_apply_in_order_and_the_first_enabled_match_wins(
    ticket: dict[str, Any], rule_id: str | None, queue: str, trace: list[tuple[str, str | None]]
) -> None:
    result = match_rules(RULES, facts(**ticket))
    assert (result.rule_id, result.actions.queue) == (rule_id, queue)
    assert result.trace == tuple(RuleEvaluation(r, failed is None, failed) for r, failed in trace)


def test_the_default_applies_when_nothing_matches_and_says_so() -> None:
    default = RuleActions(queue="triage", priority="normal")
    result = match_rules(replace(RULES, default=default), facts(subject="Login broken", body_preview=""))
    assert result.rule_id is None
    assert result.actions is default
    assert result.explanation == "no rule matched; default: queue triage"
    assert len(result.trace) == len(RULES.rules)


def test_an_empty_rule_set_goes_straight_to_the_default() -> None:
    result = match_rules(ruleset(), facts())
    assert (result.rule_id, result.trace, result.actions.queue) == (None, (), "triage")


def test_a_rule_without_conditions_matches_everything() -> None:
    result = match_rules(ruleset(rule("billing", tags_any=("billing",)), rule("catch-all", "tier-2")), facts())
    assert (result.rule_id, result.actions.queue) == ("catch-all", "tier-2")
    assert result.explanation == "rule catch-all matched: no conditions (matches every ticket)"


def test_the_matched_rules_actions_are_returned_whole() -> None:
    actions = RuleActions(queue="refunds", priority="high", required_skills={"refunds": 3}, add_tags=("refund",))
    refunds = Rule(id="refunds", conditions=RuleConditions(keywords=("refund",)), actions=actions)
    assert match_rules(ruleset(refunds), facts(subject="refund")).actions is actions


# --- validation -------------------------------------------------------------------------------


def test_a_sound_rule_set_has_no_problems() -> None:
    assert validate_ruleset(RULES, QUEUES) == []


def _with_actions(rule_id: str, **actions: Any) -> Rule:
    return Rule(id=rule_id, conditions=RuleConditions(tags_any=(rule_id,)), actions=RuleActions(**actions))


PRIORITY_LIST = "(low, normal, high, urgent)"


@pytest.mark.parametrize(
    ("rules", "default", "problems"),
    [
        # ids
        ([rule("", tags_any=("billing",))], DEFAULT, ["rules[0] (): id is empty"]),
        ([rule("  ", tags_any=("billing",))], DEFAULT, ["rules[0] (  ): id is empty"]),
        (
            [rule("billing", tags_any=("billing",)), rule("billing", tags_any=("invoice",))],
            DEFAULT,
            ["rules[1] (billing): id 'billing' is already used by rules[0]"],
        ),
        # queues
        (
            [
                rule("refunds", "billing", tags_any=("x",)),
                rule("r2", "refunds", tags_any=("y",)),
                rule("vip", "gold", vip=True),
            ],
            DEFAULT,
            ["rules[2] (vip): actions.queue 'gold' is not a queue"],
        ),
        ([], RuleActions(queue="nowhere"), ["default: queue 'nowhere' is not a queue"]),
        ([], RuleActions(queue="Triage"), ["default: queue 'Triage' is not a queue"]),
        # priorities and channels
        (
            [_with_actions("urgent", queue="billing", priority="critical")],
            DEFAULT,
            [f"rules[0] (urgent): actions.priority 'critical' is not a priority {PRIORITY_LIST}"],
        ),
        (
            [],
            RuleActions(queue="triage", priority=unchecked("High")),
            [f"default: priority 'High' is not a priority {PRIORITY_LIST}"],
        ),
        (
            [rule("hot", priority=("high", "critical"))],
            DEFAULT,
            [f"rules[0] (hot): conditions.priority 'critical' is not a priority {PRIORITY_LIST}"],
        ),
        (
            [rule("sms", channel=("chat", "sms"))],
            DEFAULT,
            ["rules[0] (sms): conditions.channel 'sms' is not a channel (email, chat, webhook, api)"],
        ),
        ([rule("chat", channel=("Chat",))], DEFAULT, []),  # matching is case-insensitive, so is validation
        # skill levels
        (
            [
                _with_actions(
                    "skills", queue="billing", required_skills={"billing": 0, "refunds": 11, "de": 10, "en": 1}
                )
            ],
            DEFAULT,
            [
                "rules[0] (skills): actions.required_skills.billing level 0 is not an integer 1..10",
                "rules[0] (skills): actions.required_skills.refunds level 11 is not an integer 1..10",
            ],
        ),
        (
            [_with_actions("skills", queue="billing", required_skills={"billing": "3", "vat": True, "sepa": 2.5})],
            DEFAULT,
            [
                "rules[0] (skills): actions.required_skills.billing level '3' is not an integer 1..10",
                "rules[0] (skills): actions.required_skills.vat level True is not an integer 1..10",
                "rules[0] (skills): actions.required_skills.sepa level 2.5 is not an integer 1..10",
            ],
        ),
        (
            [_with_actions("skills", queue="billing", required_skills={"": 3})],
            DEFAULT,
            ["rules[0] (skills): actions.required_skills has an empty skill name"],
        ),
        (
            [],
            RuleActions(queue="triage", required_skills={"triage": -1}),
            ["default: required_skills.triage level -1 is not an integer 1..10"],
        ),
        # empty condition lists and blank values
        (
            [rule("nothing", channel=())],
            DEFAULT,
            ["rules[0] (nothing): conditions.channel is empty; an empty list can never match"],
        ),
        (
            [rule("nothing", tags_any=(), brand=())],
            DEFAULT,
            [
                "rules[0] (nothing): conditions.brand is empty; an empty list can never match",
                "rules[0] (nothing): conditions.tags_any is empty; an empty list can never match",
            ],
        ),
        (
            [rule("vacuous", tags_all=(), tags_none=(), custom_fields={})],
            DEFAULT,
            [
                "rules[0] (vacuous): conditions.tags_all is empty; it tests nothing (leave it out)",
                "rules[0] (vacuous): conditions.tags_none is empty; it tests nothing (leave it out)",
                "rules[0] (vacuous): conditions.custom_fields is empty; it tests nothing (leave it out)",
            ],
        ),
        (
            [rule("refunds", keywords=("refund", " ", ""))],
            DEFAULT,
            [
                "rules[0] (refunds): conditions.keywords[1] is empty",
                "rules[0] (refunds): conditions.keywords[2] is empty",
            ],
        ),
        ([rule("tags", tags_any=("billing", ""))], DEFAULT, ["rules[0] (tags): conditions.tags_any[1] is empty"]),
        ([rule("vip", vip="yes")], DEFAULT, ["rules[0] (vip): conditions.vip 'yes' must be true or false"]),
        # a rule without conditions shadows everything after it
        (
            [
                rule("catch-all", "tier-2"),
                rule("billing", tags_any=("billing",)),
                rule("refunds", keywords=("refund",)),
            ],
            DEFAULT,
            [
                "rules[0] (catch-all): has no conditions, so it matches every ticket and shadows the 2 rules after it; "
                "make it the last rule or use the default"
            ],
        ),
        (
            [
                rule("billing", tags_any=("billing",)),
                rule("catch-all", "tier-2"),
                rule("refunds", keywords=("refund",)),
            ],
            DEFAULT,
            [
                "rules[1] (catch-all): has no conditions, so it matches every ticket and shadows the 1 rule after it; "
                "make it the last rule or use the default"
            ],
        ),
        ([rule("billing", tags_any=("billing",)), rule("catch-all", "tier-2")], DEFAULT, []),
        ([rule("catch-all", "tier-2", enabled=False), rule("billing", tags_any=("billing",))], DEFAULT, []),
        # identical conditions: the second can never match
        (
            [rule("billing", tags_any=("billing",)), rule("billing-2", "refunds", tags_any=("billing",))],
            DEFAULT,
            ["rules[1] (billing-2): conditions are the same as rules[0] (billing), so it can never match"],
        ),
        (
            [
                rule("a", channel=("email", "chat"), tags_any=("Billing",), keywords=("money back",)),
                rule("b", "refunds", channel=("chat", "EMAIL"), tags_any=("billing",), keywords=("Money  Back",)),
            ],
            DEFAULT,
            ["rules[1] (b): conditions are the same as rules[0] (a), so it can never match"],
        ),
        (
            [rule("a", custom_fields={"plan": "Enterprise"}), rule("b", custom_fields={"plan": "enterprise"})],
            DEFAULT,
            ["rules[1] (b): conditions are the same as rules[0] (a), so it can never match"],
        ),
        ([rule("a", custom_fields={"escalated": True}), rule("b", custom_fields={"escalated": 1})], DEFAULT, []),
        ([rule("a", tags_any=("billing",)), rule("b", tags_any=("billing",), vip=True)], DEFAULT, []),
        ([rule("a", tags_any=("billing",), enabled=False), rule("b", tags_any=("billing",))], DEFAULT, []),
        (
            [rule("a", tags_any=("billing",)), rule("b", tags_any=("billing",)), rule("c", tags_any=("billing",))],
            DEFAULT,
            [
                "rules[1] (b): conditions are the same as rules[0] (a), so it can never match",
                "rules[2] (c): conditions are the same as rules[0] (a), so it can never match",
            ],
        ),
        # every problem is reported, not just the first
        (
            [
                rule("", "gold", channel=("fax",)),
                Rule(
                    id="x",
                    conditions=RuleConditions(keywords=("",)),
                    actions=RuleActions(
                        queue="billing",
                        priority=unchecked("asap"),
                        required_skills={"billing": 0},
                    ),
                ),
            ],
            RuleActions(queue="void"),
            [
                "rules[0] (): id is empty",
                "rules[0] (): actions.queue 'gold' is not a queue",
                "rules[0] (): conditions.channel 'fax' is not a channel (email, chat, webhook, api)",
                f"rules[1] (x): actions.priority 'asap' is not a priority {PRIORITY_LIST}",
                "rules[1] (x): actions.required_skills.billing level 0 is not an integer 1..10",
                "rules[1] (x): conditions.keywords[0] is empty",
                "default: queue 'void' is not a queue",
            ],
        ),
    ],
)
def test_validation_names_every_problem_with_its_rule_and_field(
    rules: list[Rule], default: RuleActions, problems: list[str]
) -> None:
    assert validate_ruleset(ruleset(*rules, default=default), QUEUES) == problems
