"""The pool's rows decoded once (services/router/adapters/agent_rows.py): an unchanged row gives back the
agent built before, any changed value gives a new one, and the loads decode from their text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from services.router.adapters.agent_rows import AgentRows
from services.router.domain.model import Agent, AgentLoad

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _row(**changes: Any) -> dict[str, Any]:
    row = {
        "id": "ann",
        "name": "Ann",
        "team": "tier1",
        "skills": json.dumps({"billing": 3}),
        "languages": json.dumps(["en", "de"]),
        "capacity": json.dumps({"email": 2, "chat": 1}),
        "total_capacity": 3,
        "status": "online",
        "status_changed_at": AT,
        "last_assigned_at": None,
        "total_load": 1,
        "by_channel": json.dumps({"email": 1, "chat": 0}),
    }
    return {**row, **changes}


def test_a_row_decodes_to_the_agent_and_load_it_describes() -> None:
    agent, load = AgentRows().entry(_row())
    assert agent == Agent(
        id="ann",
        name="Ann",
        team="tier1",
        skills={"billing": 3},
        languages=("en", "de"),
        capacity={"email": 2, "chat": 1},
        total_capacity=3,
        status="online",
        status_changed_at=AT,
    )
    assert load == AgentLoad(by_channel={"email": 1, "chat": 0}, total=1)


def test_an_unchanged_row_gives_back_the_agent_built_before() -> None:
    rows = AgentRows()
    first, _ = rows.entry(_row())
    again, _ = rows.entry(_row(total_load=2, by_channel=json.dumps({"email": 2, "chat": 0})))
    assert again is first  # the load is not part of the profile


def test_any_changed_value_of_the_profile_gives_a_new_agent() -> None:
    rows = AgentRows()
    first = rows.agent(_row())
    for change in (
        {"skills": json.dumps({"billing": 5})},
        {"languages": json.dumps(["en"])},
        {"capacity": json.dumps({"email": 3, "chat": 1})},
        {"total_capacity": 4},
        {"status": "away"},
        {"last_assigned_at": AT},
        {"name": "Ann B."},
        {"team": None},
    ):
        changed = rows.agent(_row(**change))
        assert changed != first, change
        assert rows.agent(_row()) == first  # and back again
    assert rows.agent(_row(id="bob")).id == "bob"


def test_an_agent_with_no_channel_rows_has_no_load() -> None:
    _, load = AgentRows().entry(_row(by_channel=None, total_load=0))
    assert load == AgentLoad(by_channel={}, total=0)


def test_a_load_seen_before_is_not_decoded_again_but_equal() -> None:
    rows = AgentRows()
    text = json.dumps({"email": 1})
    _, one = rows.entry(_row(by_channel=text))
    _, two = rows.entry(_row(id="bob", by_channel=text))
    assert one.by_channel is two.by_channel and one.by_channel == {"email": 1}
