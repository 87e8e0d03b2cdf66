"""Adapters never fail with anything but PayloadError, and what they return is well-formed.

Two sources of input: arbitrary JSON-like values (biased towards the keys and words the
adapters look for, so the search gets past the first checks) and real samples with a few
random mutations (a value replaced, a key deleted, deep inside).
"""

from __future__ import annotations

import copy
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.domain.inbound import Ignored, InboundCommand, PayloadError
from services.ingest.email.html_text import html_to_text
from services.ingest.webhooks import ADAPTERS
from shared.events.tickets import AuthorKind, Channel, Priority, Status

from ._samples import FOLDERS, event_for, load, sample_paths
from ._shapes import CW_CONVERSATION, CW_MESSAGE, zd_event

KINDS = sorted(ADAPTERS)
COMMAND_TYPES = get_args(InboundCommand)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "event",
    "type",
    "topic",
    "data",
    "item",
    "id",
    "ticket_id",
    "ticket_number",
    "number",
    "title",
    "subject",
    "body",
    "content",
    "text",
    "status",
    "state",
    "priority",
    "tags",
    "labels",
    "detail",
    "current",
    "comment",
    "conversation",
    "conversation_parts",
    "conversation_message",
    "source",
    "target",
    "_meta",
    "_links",
    "related",
    "message_replied_to",
    "author",
    "sender",
    "user",
    "requester",
    "email",
    "name",
    "is_public",
    "is_staff",
    "private",
    "incoming",
    "note",
    "agent_response",
    "message_type",
    "messages",
    "meta",
    "freshdesk_webhook",
    "triggered_event",
    "ticket_subject",
    "ticket_status",
    "ticket_priority",
    "ticket_title",
    "links",
    "href",
    "ticket_state",
    "category",
    "ticket_attributes",
    "custom_field",
    "custom_fields",
    "custom_attributes",
    "changed_attributes",
    "recipients",
    "role",
    "handle",
    "channel",
    "via",
    "conversation_rating",
    "rating",
    "external_id",
    "author_kind",
    "public",
    "requester",
    "vip",
    "occurred_at",
    "created_at",
    "time",
]
WORDS = [
    "ticket.created",
    "message.created",
    "ticket.status_changed",
    "ticket.priority_changed",
    "ticket.fields_changed",
    "satisfaction.rated",
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.status_changed",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.tags_changed",
    "zen:event-type:ticket.custom_field_changed",
    "zen:event-type:ticket.priority_changed",
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.noted",
    "conversation.admin.single.created",
    "conversation.rating.added",
    "ticket.state.updated",
    "ping",
    "conversation_created",
    "message_created",
    "conversation_updated",
    "conversation_status_changed",
    "inbound",
    "outbound",
    "comment",
    "tag",
    "archive",
    "incoming",
    "outgoing",
    "open",
    "OPEN",
    "HOLD",
    "pending",
    "resolved",
    "closed",
    "urgent",
    "Medium",
    "{ticket_action:created}",
    "{status:{from:2,to:4}}",
    "{note_type:private}",
    "{priority:{from:1,to:9}}",
    "message",
    "comment",
    "email",
    "Channel::Email",
    "http://api.groovehq.com/v1/tickets/7",
    "http://[::1",
    "<p>x</p>",
    "2025-01-08T10:12:07Z",
    "",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=6),
    ),
    max_leaves=25,
)
events = st.one_of(
    st.none(),
    st.sampled_from(
        ["ticket_started", "agent_replied", "note_added", "ticket_state_changed", "ticket_assigned", "customer_replied"]
    ),
)


def check(kind: str, payload: Any, event: str | None = None) -> None:
    try:
        commands = ADAPTERS[kind](payload, source="fuzz", event=event)
    except PayloadError as exc:
        assert isinstance(exc.field, str) and exc.field
        assert isinstance(exc.detail, str) and exc.detail
        return
    assert isinstance(commands, list) and commands
    for command in commands:
        assert isinstance(command, COMMAND_TYPES)
        if isinstance(command, Ignored):
            assert command.reason
            continue
        assert command.source == "fuzz"
        assert command.external_id is None or (isinstance(command.external_id, str) and command.external_id)
        if hasattr(command, "status"):
            assert command.status in get_args(Status)
        if hasattr(command, "priority"):
            assert command.priority in get_args(Priority)
        if hasattr(command, "channel"):
            assert command.channel in get_args(Channel)
        if hasattr(command, "author_kind"):
            assert command.author_kind in get_args(AuthorKind)
        for text in ("subject", "body"):
            assert isinstance(getattr(command, text, ""), str)
        tags = getattr(command, "tags", None)
        assert tags is None or all(isinstance(t, str) and t for t in tags)
        when = getattr(command, "occurred_at", None)
        assert when is None or when.tzinfo is not None


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(payload=json_values, event=events)
def test_arbitrary_json_only_raises_payload_error(kind: str, payload: Any, event: str | None) -> None:
    check(kind, payload, event)


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(payload=st.dictionaries(st.sampled_from(KEYS), json_values, min_size=1, max_size=8), event=events)
def test_arbitrary_objects_only_raise_payload_error(kind: str, payload: dict[str, Any], event: str | None) -> None:
    check(kind, payload, event)


# ---------------------------------------------------------------- mutated real (and docs-shaped) samples

SAMPLES: list[tuple[str, Any, str | None]] = [
    (FOLDERS[p.parent.name], load(p), event_for(p)) for p in sample_paths()
] + [
    ("zendesk", zd_event("ticket.created"), None),
    ("zendesk", zd_event("ticket.status_changed", {"current": "SOLVED", "previous": "OPEN"}), None),
    (
        "zendesk",
        zd_event(
            "ticket.comment_added",
            {
                "comment": {
                    "id": "1",
                    "body": "b",
                    "is_public": True,
                    "author": {"id": "2", "is_staff": True, "name": "A"},
                }
            },
        ),
        None,
    ),
    ("zendesk", zd_event("ticket.tags_changed", {"tags_added": ["a"], "tags_removed": []}), None),
    ("zendesk", zd_event("ticket.custom_field_changed", {"current": {"value": 1}, "custom_field": {"id": "9"}}), None),
    ("chatwoot", CW_CONVERSATION | {"event": "conversation_created"}, None),
    (
        "chatwoot",
        CW_CONVERSATION | {"event": "conversation_updated", "labels": ["x"], "changed_attributes": [{"priority": {}}]},
        None,
    ),
    ("chatwoot", CW_CONVERSATION | {"event": "conversation_status_changed"}, None),
    ("chatwoot", CW_MESSAGE, None),
    (
        "generic",
        {
            "event": "ticket.created",
            "external_id": "A",
            "subject": "s",
            "body": "b",
            "requester": {"email": "a@b.c", "vip": True},
            "tags": ["t"],
            "custom_fields": {"k": 1},
            "attachments": [{"filename": "f", "size": 1}],
            "occurred_at": "2025-01-08T10:00:00Z",
        },
        None,
    ),
    ("generic", {"event": "message.created", "external_id": "A", "body": "b", "author": {"name": "n"}}, None),
    ("generic", {"event": "ticket.fields_changed", "external_id": "A", "tags": ["x"]}, None),
]


def _mutate(draw: Any, value: Any) -> Any:
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["descend", "descend", "replace", "delete"]))
        if action == "descend":
            value[key] = _mutate(draw, value[key])
        elif action == "replace":
            value[key] = draw(json_values)
        else:
            del value[key]
        return value
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        index = draw(st.integers(0, len(value) - 1))
        value[index] = _mutate(draw, value[index])
        return value
    return draw(json_values)


@st.composite
def mutated_samples(draw: Any) -> tuple[str, Any, str | None]:
    kind, payload, event = draw(st.sampled_from(SAMPLES))
    payload = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        payload = _mutate(draw, payload)
    return kind, payload, event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=mutated_samples())
def test_mutated_samples_only_raise_payload_error(sample: tuple[str, Any, str | None]) -> None:
    check(*sample)


@pytest.mark.parametrize("kind", KINDS)
def test_unmutated_samples_pass_the_checks(kind: str) -> None:
    for sample_kind, payload, event in SAMPLES:
        if sample_kind == kind:
            check(kind, copy.deepcopy(payload), event)


@settings(max_examples=200, deadline=None)
@given(markup=st.one_of(st.text(max_size=80), st.text(alphabet="<>/&;#!-[]pbr x=\"'", max_size=60)))
def test_html_to_text_never_raises(markup: str) -> None:
    text = html_to_text(markup)
    assert isinstance(text, str)
    assert text == text.strip()
