"""Every real sample under shared/data/webhooks maps to the commands in this table.

The table names every file: a new sample file fails `test_every_sample_is_in_the_table`
until someone decides what it should produce. Files zulip's own tests treat as malformed
(`zulip-freshdesk/status_changed_fixture_with_missing_key.json`,
`zulip-groove/malformed_payload.json`) must raise PayloadError on the named field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.ingest.domain.inbound import (
    Ignored,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.webhooks import ADAPTERS

from ._samples import FOLDERS, event_for, key, load, sample_paths

SOURCE = "acme-test"


@dataclass(frozen=True)
class Raises:
    field: str


def T(**fields: Any) -> tuple[type, dict[str, Any]]:
    return InboundTicket, fields


def M(**fields: Any) -> tuple[type, dict[str, Any]]:
    return InboundMessage, fields


def S(external_id: str, status: str) -> tuple[type, dict[str, Any]]:
    return InboundStatusChange, {"external_id": external_id, "status": status}


def P(external_id: str, priority: str) -> tuple[type, dict[str, Any]]:
    return InboundPriorityChange, {"external_id": external_id, "priority": priority}


def F(**fields: Any) -> tuple[type, dict[str, Any]]:
    return InboundFieldsChange, fields


def I(reason_part: str) -> tuple[type, dict[str, Any]]:
    return Ignored, {"reason~": reason_part}


NOT_AN_OBJECT = Raises("$")  # API list responses: a webhook body is an object
NOT_A_TICKET = Raises("freshdesk_webhook")  # contacts, agents, companies...: not webhook payloads

EXPECTED: dict[str, list[tuple[type, dict[str, Any]]] | Raises] = {
    # ---------------------------------------------------------------- zulip-freshdesk
    "zulip-freshdesk/inline_images.json": [
        T(
            external_id="12",
            subject="Not enough ☃ guinea pigs",
            status="open",
            priority="urgent",
            channel="webhook",
            requester_email="requester-bob@example.com",
            requester_name="Requester ☃ Bob",
            **{"body~": "We need more guinea pigs. Exhibit 1:"},
        ),
    ],
    "zulip-freshdesk/priority_changed.json": [P("11", "low")],
    "zulip-freshdesk/private_note.json": [M(external_id="11", author_kind="agent", public=False)],
    "zulip-freshdesk/public_note.json": [M(external_id="11", author_kind="agent", public=True)],
    "zulip-freshdesk/status_changed.json": [S("11", "pending")],  # 4 Resolved -> 6 Waiting on Customer
    "zulip-freshdesk/status_changed_fixture_with_missing_key.json": Raises("freshdesk_webhook.triggered_event"),
    "zulip-freshdesk/ticket_created.json": [
        T(
            external_id="11",
            subject="Test ticket subject ☃",
            status="pending",
            priority="high",
            body="Test ticket description ☃.",
            requester_email="requester-bob@example.com",
        ),
    ],
    "zulip-freshdesk/unknown_payload.json": [I("unsupported event unknown_event")],
    # ---------------------------------------------------------------- python-freshdesk (v2 API objects)
    "python-freshdesk/ticket_1.json": [
        T(
            external_id="1",
            subject="This is a sample ticket",
            status="open",
            priority="low",
            channel="webhook",
            body="This is a sample ticket, feel free to delete it.",
            tags=("foo", "bar"),
            requester_email="dummyname@example.com",
            requester_name="Dummyname",
        ),
        S("1", "open"),
        P("1", "low"),
        F(
            external_id="1",
            tags=("foo", "bar"),
            custom_fields={"parent_or_child": None, "parent_ticket_id": None, "child_ticket_id": None},
        ),
    ],
    "python-freshdesk/ticket_1_updated.json": [
        T(external_id="1", subject="Test subject update", status="solved", priority="high", tags=("hello", "world")),
        S("1", "solved"),  # 4 = Resolved
        P("1", "high"),  # 3 = High (the stale priority_name "Low" is ignored: the number wins)
        F(external_id="1", tags=("hello", "world")),
    ],
    "python-freshdesk/outbound_email_1.json": [
        T(external_id="1", subject="This is a sample outbound email", status="open", priority="low"),
        S("1", "open"),
        P("1", "low"),
        F(external_id="1", tags=("foo", "bar")),
    ],
    "python-freshdesk/note_1.json": [
        M(external_id="1", body="This is a private note", author_kind="agent", public=False, external_message_id="1"),
    ],
    "python-freshdesk/reply_1.json": [
        M(
            external_id="1",
            body="This is a reply",
            author_kind="agent",
            public=True,
            external_message_id="2",
            author_name="Rachel",
            author_email="rachel@freshdesk.com",
        ),
    ],
    "python-freshdesk/all_tickets.json": NOT_AN_OBJECT,
    "python-freshdesk/search_tickets.json": NOT_A_TICKET,  # {total, results}: a search response
    "python-freshdesk/conversations.json": NOT_AN_OBJECT,
    "python-freshdesk/agent_1.json": NOT_A_TICKET,
    "python-freshdesk/agent_1_updated.json": NOT_A_TICKET,
    "python-freshdesk/agents.json": NOT_AN_OBJECT,
    "python-freshdesk/companies.json": NOT_AN_OBJECT,
    "python-freshdesk/company.json": NOT_A_TICKET,
    "python-freshdesk/company_updated.json": NOT_A_TICKET,
    "python-freshdesk/contact.json": NOT_A_TICKET,
    "python-freshdesk/contact_1_agent.json": NOT_A_TICKET,
    "python-freshdesk/contact_updated.json": NOT_A_TICKET,
    "python-freshdesk/contacts.json": NOT_AN_OBJECT,
    "python-freshdesk/customer.json": NOT_A_TICKET,
    "python-freshdesk/group_1.json": NOT_A_TICKET,
    "python-freshdesk/groups.json": NOT_AN_OBJECT,
    "python-freshdesk/role_1.json": NOT_A_TICKET,
    "python-freshdesk/roles.json": NOT_AN_OBJECT,
    "python-freshdesk/search_companies.json": NOT_A_TICKET,
    "python-freshdesk/search_contacts.json": NOT_A_TICKET,
    "python-freshdesk/solution_articles.json": NOT_AN_OBJECT,
    "python-freshdesk/solution_articles_fr.json": NOT_AN_OBJECT,
    "python-freshdesk/solution_categories.json": NOT_AN_OBJECT,
    "python-freshdesk/solution_categories_fr.json": NOT_AN_OBJECT,
    "python-freshdesk/solution_folders.json": NOT_AN_OBJECT,
    "python-freshdesk/solution_folders_fr.json": NOT_AN_OBJECT,
    "python-freshdesk/time_entries.json": NOT_AN_OBJECT,
    "python-freshdesk/time_entry_1.json": NOT_AN_OBJECT,
    # ---------------------------------------------------------------- zulip-front
    "zulip-front/conversation_assigned.json": [I("assignment is decided by Switchboard's router")],
    "zulip-front/inbound_message.json": [
        T(
            external_id="2x9c5v",
            subject="Cancellation Request for Subscription #SUB-67890",
            channel="email",
            body="We don't have emotions, and sometimes that makes me very sad.",
            requester_email="calculon@momsbot.com",
            status="new",
        ),
    ],
    "zulip-front/outbound_message.json": [
        M(
            external_id="cnv_keo696",
            author_kind="agent",
            public=True,
            author_name="Leela Turanga",
            author_email="leela@planet-express.com",
            external_message_id="msg_1176ie2",
            body="There will be plenty of time to discuss your objections when and if you return.",
        ),
    ],
    # ---------------------------------------------------------------- zulip-groove (with X-Groove-Event)
    "zulip-groove/agent_replied.json": [
        M(
            external_id="776",
            author_kind="agent",
            public=True,
            author_email="agent@example.com",
            body="Hello , This is a reply from an agent to a ticket",
            external_message_id="5308968422",
        ),
    ],
    "zulip-groove/customer_replied.json": [
        M(external_id="440", author_kind="customer", public=True, author_email="rambo@example.com"),
    ],
    "zulip-groove/malformed_payload.json": Raises("title"),
    "zulip-groove/note_added.json": [M(external_id="776", author_kind="agent", public=False)],
    "zulip-groove/ticket_assigned__agent_and_group.json": [I("assignment is decided by Switchboard's router")],
    "zulip-groove/ticket_assigned__agent_only.json": [I("assignment is decided by Switchboard's router")],
    "zulip-groove/ticket_assigned_group_only.json": [I("assignment is decided by Switchboard's router")],
    "zulip-groove/ticket_assigned_no_one.json": [I("assignment is decided by Switchboard's router")],
    "zulip-groove/ticket_started.json": [
        T(
            external_id="9",
            subject="Test Subject",
            status="open",
            priority="low",
            channel="chat",
            body="The content of the body goes here.",
            requester_email="customer@example.lcom",
            requester_name="Test Name",
        ),
    ],
    "zulip-groove/ticket_state_changed.json": [S("776", "pending")],
    # ---------------------------------------------------------------- zulip-intercom
    "zulip-intercom/company_created.json": [I("not tickets")],
    "zulip-intercom/contact_added_email.json": [I("not tickets")],
    "zulip-intercom/contact_created.json": [I("not tickets")],
    "zulip-intercom/contact_signed_up.json": [I("not tickets")],
    "zulip-intercom/contact_tag_created.json": [I("not tickets")],
    "zulip-intercom/contact_tag_deleted.json": [I("not tickets")],
    "zulip-intercom/conversation_admin_assigned.json": [I("assignment is decided by Switchboard's router")],
    "zulip-intercom/conversation_admin_closed.json": [S("21322009097", "solved")],
    "zulip-intercom/conversation_admin_noted.json": [
        M(
            external_id="21330067382",
            author_kind="agent",
            public=False,
            author_name="Eeshan Garg",
            body="Talk to Tim about this user's query.",
            external_message_id="2826904904",
        ),
    ],
    "zulip-intercom/conversation_admin_opened.json": [S("21330229536", "open")],
    "zulip-intercom/conversation_admin_replied.json": [
        M(external_id="21322009097", author_kind="agent", public=True, body="Hey Eeshan! How can I help?"),
    ],
    "zulip-intercom/conversation_admin_single_created.json": [
        M(external_id="21330075292", author_kind="agent", public=True, body="Hi Eeshan, What's up"),
    ],
    "zulip-intercom/conversation_admin_snoozed.json": [S("21330067382", "pending")],
    "zulip-intercom/conversation_admin_unsnoozed.json": [S("21330067382", "open")],
    "zulip-intercom/conversation_part_tag_created.json": [F(external_id="21330067382", tags=("developer",))],
    "zulip-intercom/conversation_user_created.json": [
        T(
            external_id="21321941764",
            channel="chat",
            subject="Hello everyone!",
            body="Hello everyone!",
            requester_name="Rose Poodle from St. John's",
            requester_email=None,
            status="new",
        ),
    ],
    "zulip-intercom/conversation_user_replied.json": [
        M(
            external_id="21322009097",
            author_kind="customer",
            public=True,
            author_email="jerryguitarist@gmail.com",
            body="Well, I need some help getting access to a developer account.",
        ),
    ],
    "zulip-intercom/event_created.json": [I("unsupported event event.created")],
    "zulip-intercom/ping.json": [I("ping")],
    "zulip-intercom/ticket_created.json": [
        T(
            external_id="215472629311235",
            channel="chat",
            status="new",
            subject="Unclear user message 'erf' with pending email response",
            custom_fields={"Platforms": None, "Root cause": None},
        ),
    ],
    "zulip-intercom/ticket_state_updated.json": [S("215472629311235", "open")],  # category "submitted"
    "zulip-intercom/user_created.json": [I("not tickets")],
    "zulip-intercom/user_deleted.json": [I("not tickets")],
    "zulip-intercom/user_email_updated.json": [I("not tickets")],
    "zulip-intercom/user_tag_created.json": [I("not tickets")],
    "zulip-intercom/user_tag_deleted.json": [I("not tickets")],
    "zulip-intercom/user_unsubscribed.json": [I("not tickets")],
    # ---------------------------------------------------------------- zulip-zendesk (trigger bodies)
    "zulip-zendesk/message_with_long_topic_name.json": [
        T(
            external_id="7",
            status="new",
            priority="normal",
            subject="SAMPLE TICKET: Problems changing address for the customer who recently changed their "
            "password during Christmas",
            **{"body~": "### Ticket #7"},
        ),
    ],
    "zulip-zendesk/message_with_ticket_id_and_title.json": [
        T(external_id="7", subject="SAMPLE TICKET: Problems changing address"),
    ],
    "zulip-zendesk/screenshot_example.json": [T(external_id="739", subject="Problems changing address")],
    "zulip-zendesk/ticket_create_update.json": [
        T(
            external_id="7",
            subject="Hello world",
            status="open",
            priority="normal",
            requester_name="testerzulip",
            tags=("change_address", "help", "order"),
            **{"body~": "I am writing this to create a ticket."},
        ),
        S("7", "open"),
        P("7", "normal"),
        F(external_id="7", tags=("change_address", "help", "order"), custom_fields=None),
    ],
    # no ticket_id: nothing to route; a 422 tells the admin what to add to the trigger body
    "zulip-zendesk/ticket_user_provided_message.json": Raises("ticket_id"),
    "zulip-zendesk/ticket_user_provided_message_and_topic.json": Raises("ticket_id"),
}


def _actual(command: Any, name: str) -> Any:
    if name == "requester_email":
        return command.requester.email
    if name == "requester_name":
        return command.requester.name
    return getattr(command, name)


def _check(command: Any, expected_type: type[Any], fields: dict[str, Any]) -> None:
    assert type(command) is expected_type, command
    for name, value in fields.items():
        if name.endswith("~"):
            assert value in _actual(command, name[:-1]), (name, command)
        else:
            assert _actual(command, name) == value, (name, command)
    if expected_type is not Ignored:
        assert command.source == SOURCE


PATHS = sample_paths()


def test_every_sample_is_in_the_table() -> None:
    assert {key(p) for p in PATHS} == set(EXPECTED)
    assert {p.parent.name for p in PATHS} == set(FOLDERS)


@pytest.mark.parametrize("path", PATHS, ids=key)
def test_sample_maps_to_expected_commands(path: Any) -> None:
    adapter = ADAPTERS[FOLDERS[path.parent.name]]
    expected = EXPECTED[key(path)]
    payload = load(path)
    if isinstance(expected, Raises):
        with pytest.raises(PayloadError) as info:
            adapter(payload, source=SOURCE, event=event_for(path))
        assert info.value.field == expected.field
        return
    commands = adapter(payload, source=SOURCE, event=event_for(path))
    assert len(commands) == len(expected), commands
    for command, (expected_type, fields) in zip(commands, expected, strict=False):
        _check(command, expected_type, fields)


def test_ignored_reasons_name_the_event() -> None:
    commands = ADAPTERS["freshdesk"](load(next(p for p in PATHS if p.name == "unknown_payload.json")), source=SOURCE)
    assert commands == [Ignored("unsupported event unknown_event:{from:3,to:1}")]


@pytest.mark.parametrize(
    "name, expected_type",
    [
        ("ticket_started.json", InboundTicket),
        ("ticket_assigned__agent_only.json", InboundTicket),  # indistinguishable from a start: harmless no-op
        ("ticket_state_changed.json", InboundStatusChange),
        ("agent_replied.json", InboundMessage),
        ("customer_replied.json", InboundMessage),
        ("note_added.json", InboundMessage),
    ],
)
def test_groove_event_is_inferred_without_the_header(name: str, expected_type: type) -> None:
    path = next(p for p in PATHS if p.parent.name == "zulip-groove" and p.name == name)
    commands = ADAPTERS["groove"](load(path), source=SOURCE)
    assert [type(c) for c in commands] == [expected_type]
    with_header = ADAPTERS["groove"](load(path), source=SOURCE, event=event_for(path))
    if expected_type is not InboundTicket:
        assert commands == with_header
