"""What admins may change: checks on new configuration and the preconditions for deleting. Pure.

Each check answers with the sentence the admin reads (None or empty: go ahead).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.router.domain.model import RuleSet


def skill_level_problems(skills: Mapping[str, int]) -> list[str]:
    return [f"skills.{s}: level {v} is not 1..10" for s, v in skills.items() if not 1 <= v <= 10]


def overflow_problem(queue: str, overflow_queue: str | None, *, overflow_exists: bool) -> str | None:
    """A queue overflows into another queue that exists, never into itself."""
    if not overflow_queue:
        return None
    if overflow_queue == queue or not overflow_exists:
        return f"overflow_queue: {overflow_queue!r} must be another existing queue"
    return None


def agent_delete_blocker(agent_id: str, *, tickets_held: int) -> str | None:
    if tickets_held:
        return f"{agent_id} still holds tickets; set them offline and transfer them first"
    return None


def queue_delete_blocker(queue: str, *, tickets_waiting: int, ruleset: RuleSet | None) -> str | None:
    """Tickets waiting in it would be stranded; rules sending tickets to it would route into nothing."""
    if tickets_waiting:
        return f"tickets are waiting in {queue}; transfer them first"
    if ruleset and queue in {r.actions.queue for r in ruleset.rules} | {ruleset.default.queue}:
        return f"routing rules send tickets to {queue}; change the rules first"
    return None
