"""Policies and escalations to and from their stored form (JSON definitions, table rows)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from services.escalation.domain.levels import Escalation
from services.escalation.domain.policy import Action, Level, Policy, Trigger


def policy_to_json(policy: Policy) -> dict[str, Any]:
    data = asdict(policy)
    data.pop("id")
    data.pop("version")
    return data


def policy_from_json(policy_id: str, version: int, data: dict[str, Any]) -> Policy:
    return Policy(
        id=policy_id,
        name=data["name"],
        description=data.get("description", ""),
        enabled=data.get("enabled", True),
        version=version,
        triggers=tuple(_trigger(t) for t in data["triggers"]),
        levels=tuple(
            Level(delay_s=lvl["delay_s"], actions=tuple(_action(a) for a in lvl["actions"])) for lvl in data["levels"]
        ),
    )


def _trigger(data: dict[str, Any]) -> Trigger:
    return Trigger(
        kind=data["kind"],
        metrics=tuple(data.get("metrics", ())),
        times=data.get("times", 1),
        wait_s=data.get("wait_s", 0),
        keywords=tuple(data.get("keywords", ())),
        tiers=tuple(data.get("tiers", ())),
    )


def _action(data: dict[str, Any]) -> Action:
    return Action(**{**data, "tags": tuple(data.get("tags", ()))})


ESCALATION_FIELDS = tuple(Escalation.__dataclass_fields__)


def escalation_from_row(row: Any) -> Escalation:
    return Escalation(**{name: row[name] for name in ESCALATION_FIELDS})


def escalation_to_row(escalation: Escalation) -> dict[str, Any]:
    return asdict(escalation)
