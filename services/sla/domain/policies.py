"""Which policy measures a ticket: the facts policies match on, the first matching policy, and what is
wrong with a configuration before it is saved.

`facts_from` folds a ticket's events (in their own time order, see `clocks.order`) into `SlaFacts`:
the TicketReceived gives the starting values; priority changes (ingest's and the router's raises),
tag changes, status changes and queue moves then apply in order. `select` is the first policy in
order whose conditions all hold, else the default policy, else None (the ticket gets no SLA).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from services.sla.domain.model import Conditions, Policy, SlaConfig, SlaFacts
from shared.events.base import Event
from shared.events.routing import TicketPriorityRaised, TicketQueueChanged, TicketRouted
from shared.events.tickets import (
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

__all__ = ["apply", "config_problems", "facts_from", "matches", "select"]


def facts_from(history: Iterable[Event]) -> SlaFacts | None:
    """The ticket's facts after all of `history`; None without a TicketReceived."""
    from services.sla.domain.clocks import order  # clocks imports this module

    facts: SlaFacts | None = None
    for event in order(history):
        facts = apply(facts, event)
    return facts


def apply(facts: SlaFacts | None, event: Event) -> SlaFacts | None:
    """The facts after one more event (events before the TicketReceived are ignored)."""
    if isinstance(event, TicketReceived):
        if facts is not None:  # a repeated or second TicketReceived changes nothing
            return facts
        return SlaFacts(
            ticket_id=event.ticket_id,
            channel=event.channel,
            priority=event.priority,
            brand=event.brand,
            inbox=event.inbox,
            tier=event.requester.tier,
            vip=event.requester.vip,
            tags=event.tags,
            language=event.language,
            received_at=event.received_at,
        )
    if facts is None or getattr(event, "ticket_id", None) != facts.ticket_id:
        return facts
    if isinstance(event, TicketPriorityChanged | TicketPriorityRaised):
        return facts.model_copy(update={"priority": event.new_priority})
    if isinstance(event, TicketFieldsChanged):
        return facts.model_copy(update={"tags": event.tags})
    if isinstance(event, TicketStatusChanged):
        return facts.model_copy(update={"status": event.new_status})
    if isinstance(event, TicketRouted):
        return facts.model_copy(update={"queue": event.queue})
    if isinstance(event, TicketQueueChanged):
        return facts.model_copy(update={"queue": event.to_queue})
    return facts


def _one_of(allowed: tuple[str, ...], value: str | None) -> bool:
    return not allowed or value in allowed


def matches(conditions: Conditions, facts: SlaFacts) -> bool:
    """Whether every given condition holds for the facts."""
    tags = set(facts.tags)
    return (
        _one_of(conditions.priority, facts.priority)
        and _one_of(conditions.channel, facts.channel)
        and _one_of(conditions.tier, facts.tier)
        and (conditions.vip is None or conditions.vip == facts.vip)
        and _one_of(conditions.brand, facts.brand)
        and _one_of(conditions.inbox, facts.inbox)
        and _one_of(conditions.queue, facts.queue)
        and (not conditions.tags_any or bool(tags.intersection(conditions.tags_any)))
        and tags.issuperset(conditions.tags_all)
        and _one_of(conditions.language, facts.language)
    )


def select(config: SlaConfig, facts: SlaFacts) -> Policy | None:
    """The first policy whose conditions hold, else the default policy, else None."""
    for policy in config.policies:
        if matches(policy.conditions, facts):
            return policy
    if config.default_policy_id is None:
        return None
    return next((p for p in config.policies if p.id == config.default_policy_id), None)


def config_problems(config: SlaConfig) -> list[tuple[str, str]]:
    """Every problem in the configuration, as (field path, message); empty when it can be saved."""
    problems: list[tuple[str, str]] = []
    id_counts = Counter(p.id for p in config.policies)
    seen_ids: set[str] = set()
    for i, policy in enumerate(config.policies):
        at = f"policies.{i}"
        if id_counts[policy.id] > 1 and policy.id in seen_ids:
            problems.append(
                (f"{at}.id", f"policy id {policy.id!r} is already used by an earlier policy; ids must be unique")
            )
        seen_ids.add(policy.id)
        if policy.calendar_id is not None and policy.calendar_id not in config.calendars:
            known = ", ".join(sorted(config.calendars)) or "none defined"
            problems.append(
                (f"{at}.calendar_id", f"calendar {policy.calendar_id!r} does not exist (known calendars: {known})")
            )
        seen_metrics: set[str] = set()
        for j, target in enumerate(policy.targets):
            tat = f"{at}.targets.{j}"
            if target.metric in seen_metrics:
                problems.append(
                    (
                        f"{tat}.metric",
                        f"policy {policy.id!r} already has a {target.metric} target; give each metric one target",
                    )
                )
            seen_metrics.add(target.metric)
            if target.warn_percent is not None and target.warn_before_s is not None:
                problems.append(
                    (
                        f"{tat}.warn_percent",
                        "set either warn_percent or warn_before_s, not both: they say when to warn in two ways",
                    )
                )
            if target.warn_before_s is not None and target.warn_before_s >= target.target_s:
                problems.append(
                    (
                        f"{tat}.warn_before_s",
                        f"warn_before_s ({target.warn_before_s}) must be less than target_s ({target.target_s}), "
                        "or the warning would come before the clock starts",
                    )
                )
    if config.default_policy_id is not None and config.default_policy_id not in id_counts:
        problems.append(
            ("default_policy_id", f"no policy has the id {config.default_policy_id!r}, so it cannot be the default")
        )
    return problems
