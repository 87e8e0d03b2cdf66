"""What time alone does: workflow steps raise priority, wait limits move a ticket on or widen its skills."""

from __future__ import annotations

import pytest

from services.router.domain.model import Priority, Queue, RoutedTicket, WorkflowTarget
from services.router.domain.sweep import overflow, step_priority
from tests.unit.router.factories import NOW, agent, ago, events, queue, ticket


@pytest.mark.parametrize(
    ("config", "state", "expected"),
    [
        pytest.param(
            dict(wait_limit_s=60, overflow_queue="general"), ticket(waiting_since=ago(59)), None, id="not yet"
        ),
        pytest.param(dict(overflow_queue="general"), ticket(waiting_since=ago(600)), None, id="no wait limit"),
        pytest.param(
            dict(wait_limit_s=60, overflow_queue="general"), ticket(waiting_since=ago(60)), "move", id="moves on"
        ),
        pytest.param(
            dict(wait_limit_s=60, widen_skills_after_wait=True), ticket(waiting_since=ago(90)), "widen", id="widens"
        ),
        pytest.param(
            dict(wait_limit_s=60, widen_skills_after_wait=True),
            ticket(waiting_since=ago(90), skills_widened=True),
            None,
            id="widens once",
        ),
        pytest.param(dict(wait_limit_s=60), ticket(waiting_since=ago(90)), None, id="nothing to do past the limit"),
    ],
)
def test_past_the_wait_limit(config: dict[str, object], state: RoutedTicket, expected: str | None) -> None:
    change = overflow(state, queue(**config), NOW)
    if expected is None:
        assert change is None
    elif expected == "move":
        assert change is not None
        assert (change.ticket.queue, change.ticket.waiting_since, change.ticket.skills_widened) == (
            "general",
            NOW,
            False,
        )
        reason = "waited 60 s in billing; overflow"
        assert events(change) == [("TicketQueueChanged", reason), ("record", f"overflow: {reason}")]
    else:
        assert change is not None
        assert change.ticket.skills_widened
        assert change.ticket.queue == "billing"
        assert events(change) == [("record", "overflow: waited 60 s in billing; skill requirement widened")]


def workflow_queue(step_priority_value: Priority | None) -> Queue:
    return queue(
        workflow=(
            WorkflowTarget(name="specialists", team="t2", timeout_s=60),
            WorkflowTarget(name="everyone", priority=step_priority_value),
        )
    )


@pytest.mark.parametrize(
    ("waited", "step_value", "current", "raised"),
    [
        pytest.param(30, "high", "normal", None, id="still at the first step"),
        pytest.param(90, "high", "normal", "high", id="the second step raises it"),
        pytest.param(90, "high", "urgent", None, id="never lowered"),
        pytest.param(90, None, "low", None, id="a step without a priority"),
    ],
)
def test_a_workflow_step_raises_the_priority(
    waited: int, step_value: Priority | None, current: Priority, raised: Priority | None
) -> None:
    state = ticket(waiting_since=ago(waited), priority=current)
    change = step_priority(state, workflow_queue(step_value), [agent(team="t2")], NOW)
    if raised is None:
        assert change is None
        return
    assert change is not None
    assert change.ticket.priority == raised
    why = f"workflow step everyone: priority {current} -> {raised}"
    assert events(change) == [("record", f"route: {why}"), ("TicketPriorityRaised", why)]
    assert not change.release


def test_no_workflow_no_step_priority() -> None:
    assert step_priority(ticket(), queue(), [], NOW) is None
