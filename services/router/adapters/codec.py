"""Domain dataclasses <-> the JSON the router stores (queue configs, rule sets, ticket facts)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from services.router.domain.model import (
    Queue,
    Rule,
    RuleActions,
    RuleConditions,
    RuleSet,
    TicketFacts,
    WorkflowTarget,
)


def to_json(value: Any) -> Any:
    """Dataclasses become dicts, tuples lists, mappings plain dicts."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_json(v) for k, v in asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def _tuples(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Lists back to tuples for the dataclass fields typed as tuples; unknown keys dropped."""
    names = {f.name: f for f in fields(cls)}
    out = {}
    for key, value in data.items():
        if key not in names:
            continue
        out[key] = tuple(value) if isinstance(value, list) and "tuple" in str(names[key].type) else value
    return out


def queue_from_json(data: dict[str, Any]) -> Queue:
    workflow = tuple(WorkflowTarget(**_tuples(WorkflowTarget, t)) for t in data.get("workflow", ()))
    return Queue(**{**_tuples(Queue, data), "workflow": workflow})


def actions_from_json(data: dict[str, Any]) -> RuleActions:
    return RuleActions(**_tuples(RuleActions, data))


def rule_from_json(data: dict[str, Any]) -> Rule:
    return Rule(
        id=data["id"],
        name=data.get("name", ""),
        enabled=data.get("enabled", True),
        conditions=RuleConditions(**_tuples(RuleConditions, data.get("conditions", {}))),
        actions=actions_from_json(data["actions"]),
    )


def ruleset_from_json(version: int, rules: list[dict[str, Any]], default: dict[str, Any]) -> RuleSet:
    return RuleSet(version=version, rules=tuple(rule_from_json(r) for r in rules), default=actions_from_json(default))


def facts_from_json(data: dict[str, Any]) -> TicketFacts:
    return TicketFacts(**_tuples(TicketFacts, data))
