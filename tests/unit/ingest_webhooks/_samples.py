"""Where the real webhook samples live (shared/data/webhooks, beside the repo) and how to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.ingest import shared_data

REPO_ROOT = Path(__file__).resolve().parents[3]
WEBHOOKS = shared_data() / "webhooks"

#: sample folder -> adapter kind
FOLDERS = {
    "zulip-freshdesk": "freshdesk",
    "python-freshdesk": "freshdesk",
    "zulip-front": "front",
    "zulip-groove": "groove",
    "zulip-intercom": "intercom",
    "zulip-zendesk": "zendesk",
}

#: Groove names its event in the X-Groove-Event header, not the body; these are the
#: headers zulip's own tests send with each fixture.
GROOVE_EVENTS = {
    "agent_replied.json": "agent_replied",
    "customer_replied.json": "customer_replied",
    "malformed_payload.json": "ticket_started",
    "note_added.json": "note_added",
    "ticket_assigned__agent_and_group.json": "ticket_assigned",
    "ticket_assigned__agent_only.json": "ticket_assigned",
    "ticket_assigned_group_only.json": "ticket_assigned",
    "ticket_assigned_no_one.json": "ticket_assigned",
    "ticket_started.json": "ticket_started",
    "ticket_state_changed.json": "ticket_state_changed",
}


def sample_paths() -> list[Path]:
    assert WEBHOOKS.is_dir(), f"webhook samples not found at {WEBHOOKS}"
    return sorted(p for folder in FOLDERS for p in (WEBHOOKS / folder).glob("*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def event_for(path: Path) -> str | None:
    return GROOVE_EVENTS.get(path.name) if path.parent.name == "zulip-groove" else None
