"""Signals (what happened to a ticket) and whether a policy's triggers match them.

Handlers turn consumed events and the ticket's facts into a `Signal`; `match` says whether a
policy escalates on it, `matching_trigger` which trigger did (its label names the escalation's
cause). Keywords match whole words or phrases, in any case, in any script: `cancel` matches
"Cancel!" and "please cancel", not "cancellation"; `kündigen` matches "KÜNDIGEN".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from services.escalation.domain.policy import Policy, Trigger

SIGNAL_KINDS = (
    "sla_warning",  # metric
    "sla_breached",  # metric
    "reopened",  # reopen_count
    "unassigned_wait",  # waited_s
    "message",  # text (a customer's public message)
    "ticket_received",  # text (subject and first message), vip, tier
    "bad_csat",
    "manual",
)


@dataclass(frozen=True)
class Signal:
    kind: str
    ticket_id: str
    at: datetime
    metric: str | None = None
    reopen_count: int = 0
    waited_s: int = 0
    text: str = ""
    vip: bool = False
    tier: str | None = None
    reason: str = ""  # why, in words (set by the handler from the event)
    by: str = "system"


def match(policy: Policy, signal: Signal) -> bool:
    """Does any of the policy's triggers fire on this signal? Disabled policies never do."""
    return matching_trigger(policy, signal) is not None


def matching_trigger(policy: Policy, signal: Signal) -> str | None:
    """The label of the first trigger that fires (`sla_breached:first_reply`, `keywords:lawyer`), or None."""
    if not policy.enabled:
        return None
    for trigger in policy.triggers:
        label = _fires(trigger, signal)
        if label is not None:
            return label
    return None


def _fires(trigger: Trigger, signal: Signal) -> str | None:
    kind = trigger.kind
    if kind in ("sla_warning", "sla_breached"):
        if signal.kind == kind and (not trigger.metrics or signal.metric in trigger.metrics):
            return f"{kind}:{signal.metric}"
    elif kind == "reopened":
        if signal.kind == "reopened" and signal.reopen_count >= trigger.times:
            return f"reopened:{signal.reopen_count}"
    elif kind == "unassigned_wait":
        if signal.kind == "unassigned_wait" and signal.waited_s >= trigger.wait_s:
            return f"unassigned_wait:{trigger.wait_s}s"
    elif kind == "keywords":
        if signal.kind in ("message", "ticket_received"):
            found = first_keyword(signal.text, trigger.keywords)
            return f"keywords:{found}" if found else None
    elif kind == "vip":
        if signal.kind == "ticket_received" and signal.vip:
            return "vip"
    elif kind == "tier":
        wanted = {t.casefold() for t in trigger.tiers}
        if signal.kind == "ticket_received" and signal.tier and signal.tier.casefold() in wanted:
            return f"tier:{signal.tier}"
    elif kind == "bad_csat":
        if signal.kind == "bad_csat":
            return "bad_csat"
    elif kind == "manual" and signal.kind == "manual":
        return "manual"
    return None


def first_keyword(text: str, keywords: tuple[str, ...]) -> str | None:
    """The first keyword found in `text` as a whole word or phrase (case-insensitive), or None."""
    folded = text.casefold()
    for keyword in keywords:
        if _pattern(keyword).search(folded):
            return keyword
    return None


@lru_cache(maxsize=1024)
def _pattern(keyword: str) -> re.Pattern[str]:
    # \w is Unicode-aware on str patterns; the words of a phrase may be split by any whitespace
    words = [re.escape(w) for w in keyword.casefold().split()]
    if not words:
        return re.compile(r"(?!)")  # a blank keyword matches nothing (validation refuses it anyway)
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")
