"""Admins' changes: skill levels, overflow targets, and what keeps an agent or a queue from being deleted."""

from __future__ import annotations

import pytest

from services.router.domain.admin_checks import (
    agent_delete_blocker,
    overflow_problem,
    queue_delete_blocker,
    skill_level_problems,
)
from services.router.domain.model import Rule, RuleActions, RuleConditions, RuleSet


@pytest.mark.parametrize(
    ("skills", "problems"),
    [
        ({}, []),
        ({"billing": 1, "tax": 10}, []),
        ({"billing": 0}, ["skills.billing: level 0 is not 1..10"]),
        (
            {"billing": 11, "tax": 5, "vat": -1},
            ["skills.billing: level 11 is not 1..10", "skills.vat: level -1 is not 1..10"],
        ),
    ],
)
def test_skill_levels_are_1_to_10(skills: dict[str, int], problems: list[str]) -> None:
    assert skill_level_problems(skills) == problems


@pytest.mark.parametrize(
    ("overflow", "exists", "problem"),
    [
        (None, False, None),
        ("", False, None),
        ("tier2", True, None),
        ("tier2", False, "overflow_queue: 'tier2' must be another existing queue"),
        ("billing", True, "overflow_queue: 'billing' must be another existing queue"),
    ],
)
def test_a_queue_overflows_only_into_another_existing_queue(
    overflow: str | None, exists: bool, problem: str | None
) -> None:
    assert overflow_problem("billing", overflow, overflow_exists=exists) == problem


@pytest.mark.parametrize(
    ("held", "blocker"),
    [(0, None), (1, "ada still holds tickets; set them offline and transfer them first")],
)
def test_an_agent_holding_tickets_cannot_be_deleted(held: int, blocker: str | None) -> None:
    assert agent_delete_blocker("ada", tickets_held=held) == blocker


RULES = RuleSet(
    version=3,
    rules=(Rule(id="r1", conditions=RuleConditions(vip=True), actions=RuleActions(queue="vip")),),
    default=RuleActions(queue="triage"),
)


@pytest.mark.parametrize(
    ("queue", "waiting", "ruleset", "blocker"),
    [
        ("spare", 0, RULES, None),
        ("spare", 0, None, None),
        ("triage", 0, None, None),
        ("spare", 2, RULES, "tickets are waiting in spare; transfer them first"),
        ("vip", 0, RULES, "routing rules send tickets to vip; change the rules first"),
        ("triage", 0, RULES, "routing rules send tickets to triage; change the rules first"),
        ("vip", 1, RULES, "tickets are waiting in vip; transfer them first"),
    ],
)
def test_a_queue_in_use_cannot_be_deleted(
    queue: str, waiting: int, ruleset: RuleSet | None, blocker: str | None
) -> None:
    assert queue_delete_blocker(queue, tickets_waiting=waiting, ruleset=ruleset) == blocker
