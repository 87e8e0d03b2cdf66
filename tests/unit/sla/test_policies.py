"""Policy matching: the facts from a ticket's events, the first matching policy, configuration problems."""

from __future__ import annotations

from typing import Any

import pytest

from services.sla.domain.model import Conditions, SlaConfig, SlaFacts
from services.sla.domain.policies import config_problems, facts_from, select
from tests.unit.sla import (
    OFFICE,
    T0,
    H,
    config,
    message,
    moved,
    policy,
    priority,
    received,
    routed,
    status,
    tags,
    target,
)


def facts(**overrides: Any) -> SlaFacts:
    return SlaFacts(**{"ticket_id": "t-1", "channel": "email", "received_at": T0, **overrides})


def test_facts_start_from_the_received_ticket() -> None:
    got = facts_from(
        [received(priority="high", brand="acme", inbox="help@acme", tier="pro", vip=True, tags=("a",), language="de")]
    )
    assert got == SlaFacts(
        ticket_id="t-1",
        channel="email",
        priority="high",
        brand="acme",
        inbox="help@acme",
        tier="pro",
        vip=True,
        tags=("a",),
        language="de",
        received_at=T0,
    )


def test_facts_apply_later_changes_in_time_order_whatever_the_arrival_order() -> None:
    history = [
        moved(30, "billing", "vip-desk"),
        status(5, "new", "open"),
        priority(10, "normal", "high"),
        tags(20, "refund"),
        routed(1, "billing"),
        priority(25, "high", "urgent"),
        message(3),
        received(),
    ]
    got = facts_from(history)
    assert got is not None
    assert (got.priority, got.tags, got.status, got.queue) == ("urgent", ("refund",), "open", "vip-desk")


def test_no_facts_without_a_received_ticket() -> None:
    assert facts_from([status(5, "new", "open"), message(3)]) is None


def test_the_first_matching_policy_wins() -> None:
    urgent = policy("urgent", conditions=Conditions(priority=("urgent",)))
    email = policy("email", conditions=Conditions(channel=("email",)))
    cfg = config(urgent, email, policy("fallback"))
    assert select(cfg, facts(priority="urgent")) == urgent
    assert select(cfg, facts(priority="normal")) == email


def test_the_default_policy_catches_tickets_no_policy_matches() -> None:
    chat = policy("chat", conditions=Conditions(channel=("chat",)))
    vip = policy("vip", conditions=Conditions(vip=True))
    assert select(config(chat, vip, default_policy_id="vip"), facts()) == vip
    assert select(config(chat, vip), facts()) is None


@pytest.mark.parametrize(
    ("conditions", "matched"),
    [
        (Conditions(), True),
        (Conditions(tags_any=("refund", "legal")), True),
        (Conditions(tags_any=("legal",)), False),
        (Conditions(tags_all=("refund", "eu")), True),
        (Conditions(tags_all=("refund", "legal")), False),
        (Conditions(vip=False), True),
        (Conditions(vip=True), False),
        (Conditions(tier=("pro", "enterprise"), brand=("acme",)), True),
        (Conditions(tier=("enterprise",)), False),
        (Conditions(queue=("billing",), inbox=("help@acme",), language=("de",)), True),
        (Conditions(queue=("sales",)), False),
        (Conditions(priority=("high",), channel=("email",)), True),
        (Conditions(priority=("urgent",)), False),
    ],
)
def test_every_given_condition_must_hold(conditions: Conditions, matched: bool) -> None:
    ticket = facts(
        priority="high",
        tags=("refund", "eu"),
        tier="pro",
        brand="acme",
        queue="billing",
        inbox="help@acme",
        language="de",
    )
    assert (select(config(policy("p", conditions=conditions)), ticket) is not None) is matched


def test_a_valid_configuration_has_no_problems() -> None:
    cfg = config(
        policy(
            "p",
            target("first_reply", H, warn_before_s=600),
            target("resolution", 8 * H, warn_percent=75),
            calendar_id="office",
        ),
        default_policy_id="p",
        calendars={"office": OFFICE},
    )
    assert config_problems(cfg) == []


def test_config_problems_lists_every_problem_with_its_field() -> None:
    cfg = SlaConfig(
        version=1,
        policies=(
            policy("p", target("first_reply", H), target("first_reply", 2 * H), calendar_id="nights"),
            policy(
                "p",
                target("resolution", H, warn_before_s=H),
                target("next_reply", H, warn_before_s=60, warn_percent=50),
            ),
        ),
        default_policy_id="missing",
        calendars={"office": OFFICE},
    )
    assert [field for field, _ in config_problems(cfg)] == [
        "policies.0.calendar_id",
        "policies.0.targets.1.metric",
        "policies.1.id",
        "policies.1.targets.0.warn_before_s",
        "policies.1.targets.1.warn_percent",
        "default_policy_id",
    ]
    messages = dict(config_problems(cfg))
    assert "'nights' does not exist (known calendars: office)" in messages["policies.0.calendar_id"]
    assert "already has a first_reply target" in messages["policies.0.targets.1.metric"]
