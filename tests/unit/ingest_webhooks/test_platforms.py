"""Platform shapes with no sample file in shared/data, and edge cases of those that have one.

Zendesk event-webhook and Chatwoot payloads are not available as real data files (see
shared/data/SOURCES.md, note 3): the payloads below are built from the shapes the
platforms publish (developer.zendesk.com "Ticket events"; Chatwoot's "Webhook events"
samples), trimmed to what matters.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest.domain.inbound import (
    Ignored,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.email.html_text import html_to_text
from services.ingest.webhooks import ADAPTERS, EVENT_HEADERS
from services.ingest.webhooks.payloads import chatwoot, freshdesk, front, groove, intercom, zendesk
from shared.events.tickets import Requester, Status

from ._samples import WEBHOOKS, load
from ._shapes import CW_CONVERSATION, CW_MESSAGE, zd_event

SRC = "acme"


def test_registry_covers_every_kind() -> None:
    assert set(ADAPTERS) == {"generic", "zendesk", "freshdesk", "intercom", "chatwoot", "groove", "front"}
    assert EVENT_HEADERS == {"groove": "x-groove-event"}


# ================================================================ Zendesk event webhooks

ZD_AT = datetime(2025, 1, 8, 10, 12, 7, 672717, tzinfo=UTC)


def zd(payload: Any) -> list[Any]:
    return zendesk.parse(payload, source=SRC)


def test_zendesk_ticket_created() -> None:
    assert zd(zd_event("ticket.created")) == [
        InboundTicket(
            source=SRC,
            external_id="5158",
            channel="api",
            subject="Cannot login to mobile app",
            body="Customer is experiencing login issues with the mobile app",
            requester=Requester(),
            priority="high",
            status="open",
            tags=("mobile", "login"),
            occurred_at=ZD_AT,
        )
    ]
    [ticket] = zd(zd_event("ticket.created", via={"channel": "email"}, priority=None, subject=""))
    assert (ticket.channel, ticket.priority, ticket.subject) == ("email", "normal", ticket.body)
    [ticket] = zd(zd_event("ticket.created", via={"channel": "native_messaging"}, tags="a b"))
    assert (ticket.channel, ticket.tags) == ("chat", ("a", "b"))


@pytest.mark.parametrize(
    "current, expected",
    [
        ("SOLVED", "solved"),
        ("HOLD", "on_hold"),
        ("PENDING", "pending"),
        ("NEW", "new"),
        ("CLOSED", "closed"),
        ("open", "open"),
    ],
)
def test_zendesk_status_changed(current: str, expected: Status) -> None:
    assert zd(zd_event("ticket.status_changed", {"current": current, "previous": "OPEN"})) == [
        InboundStatusChange(SRC, "5158", expected, ZD_AT)
    ]


def test_zendesk_status_without_equivalent_is_ignored() -> None:
    [ignored] = zd(zd_event("ticket.status_changed", {"current": "DELETED", "previous": "OPEN"}))
    assert isinstance(ignored, Ignored) and "DELETED" in ignored.reason


def test_zendesk_priority_changed() -> None:
    assert zd(zd_event("ticket.priority_changed", {"current": "URGENT", "previous": "HIGH"})) == [
        InboundPriorityChange(SRC, "5158", "urgent", ZD_AT)
    ]
    assert zd(zd_event("ticket.priority_changed", {"current": None, "previous": "HIGH"}))[0].priority == "normal"


def test_zendesk_comment_added() -> None:
    comment = {
        "id": "9876543210",
        "body": "We are investigating.",
        "is_public": True,
        "author": {"id": "8447388090495", "is_staff": True, "name": "Support Agent"},
    }
    assert zd(zd_event("ticket.comment_added", {"comment": comment})) == [
        InboundMessage(
            SRC,
            "5158",
            "We are investigating.",
            "agent",
            public=True,
            author_name="Support Agent",
            external_message_id="9876543210",
            occurred_at=ZD_AT,
        )
    ]
    private = comment | {"is_public": False}
    assert zd(zd_event("ticket.comment_added", {"comment": private}))[0].public is False
    customer = comment | {"author": {"id": "1", "is_staff": False, "name": "Dana"}}
    assert zd(zd_event("ticket.comment_added", {"comment": customer}))[0].author_kind == "customer"


def test_zendesk_tags_and_custom_fields() -> None:
    tags = zd(zd_event("ticket.tags_changed", {"tags_added": ["vip"], "tags_removed": []}, tags=["mobile", "vip"]))
    assert tags == [InboundFieldsChange(SRC, "5158", tags=("mobile", "vip"), occurred_at=ZD_AT)]
    field = zd(
        zd_event(
            "ticket.custom_field_changed",
            {
                "current": {"value": "blue"},
                "previous": {"value": "red"},
                "custom_field": {"id": "360001", "title": "Colour", "type": "text"},
            },
        )
    )
    assert field == [InboundFieldsChange(SRC, "5158", custom_fields={"360001": "blue"}, occurred_at=ZD_AT)]


@pytest.mark.parametrize("type_", ["ticket.soft_deleted", "ticket.marked_as_spam", "ticket.merged"])
def test_zendesk_ticket_gone_closes_it(type_: str) -> None:
    assert zd(zd_event(type_)) == [InboundStatusChange(SRC, "5158", "closed", ZD_AT)]


@pytest.mark.parametrize(
    "type_, reason",
    [
        ("ticket.agent_assignment_changed", "assignment"),
        ("ticket.subject_changed", "unsupported event"),
        ("user.active_changed", "not a ticket event"),
        ("organization.created", "not a ticket event"),
    ],
)
def test_zendesk_events_we_ignore(type_: str, reason: str) -> None:
    [ignored] = zd(zd_event(type_))
    assert isinstance(ignored, Ignored) and reason in ignored.reason


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda p: p.pop("detail"), "detail"),
        (lambda p: p["detail"].update(id=True), "detail.id"),
        (lambda p: p["detail"].update(id=""), "detail.id"),
        (lambda p: p["detail"].update(tags=[1]), "detail.tags.0"),
        (lambda p: p["detail"].update(subject=["x"]), "detail.subject"),
        (lambda p: p.update(event=[]), "event"),
    ],
)
def test_zendesk_broken_event_payloads(mutate: Any, field: str) -> None:
    payload = zd_event("ticket.created")
    mutate(payload)
    with pytest.raises(PayloadError) as info:
        zd(payload)
    assert info.value.field == field


def test_zendesk_comment_and_tags_need_their_data() -> None:
    with pytest.raises(PayloadError, match="event.comment"):
        zd(zd_event("ticket.comment_added", {}))
    payload = zd_event("ticket.tags_changed", {"tags_added": ["x"]})
    del payload["detail"]["tags"]
    with pytest.raises(PayloadError) as info:
        zd(payload)
    assert info.value.field == "detail.tags"


def test_zendesk_recommended_trigger_template() -> None:
    body = {
        "ticket_id": 4821,
        "ticket_title": "Refund",
        "ticket_description": "Please refund order 77",
        "ticket_status": "On-hold",
        "ticket_priority": "-",
        "requester_email": "kim@example.com",
        "requester_full_name": "Kim",
        "tags": "refund billing",
    }
    assert zd(body) == [
        InboundTicket(
            SRC,
            "4821",
            "webhook",
            "Refund",
            "Please refund order 77",
            Requester(email="kim@example.com", name="Kim"),
            status="on_hold",
            tags=("refund", "billing"),
        ),
        InboundStatusChange(SRC, "4821", "on_hold"),
        InboundFieldsChange(SRC, "4821", tags=("refund", "billing")),
    ]
    assert zd({"ticket_id": "1", "ticket_status": "Solved"}) == [InboundStatusChange(SRC, "1", "solved")]
    [ignored] = zd({"ticket_id": "1", "message": "hi"})
    assert isinstance(ignored, Ignored)


# ================================================================ Chatwoot (docs-shaped: no real files exist)


def cw(payload: Any) -> list[Any]:
    return chatwoot.parse(payload, source=SRC)


def test_chatwoot_conversation_created() -> None:
    [ticket] = cw(CW_CONVERSATION | {"event": "conversation_created", "labels": ["billing"], "priority": "medium"})
    assert ticket == InboundTicket(
        source=SRC,
        external_id="10",
        channel="chat",
        subject="My order never arrived",
        body="My order never arrived",
        requester=Requester(email="jane@acme.inc", name="jane"),
        priority="normal",
        status="open",
        tags=("billing",),
        occurred_at=datetime.fromtimestamp(1627063520, tz=UTC),
    )
    [email] = cw(
        CW_CONVERSATION
        | {
            "event": "conversation_created",
            "channel": "Channel::Email",
            "messages": [],
            "additional_attributes": {"mail_subject": "Broken link"},
        }
    )
    assert (email.channel, email.subject, email.body) == ("email", "Broken link", "")


def test_chatwoot_message_created_by_type() -> None:
    [incoming] = cw(CW_MESSAGE)
    assert incoming == InboundMessage(
        SRC,
        "10",
        "hi",
        "customer",
        public=True,
        author_name="little-haze-776",
        external_message_id="118",
        occurred_at=datetime(2021, 7, 23, 18, 2, 48, tzinfo=UTC),
    )
    agent = {"id": 1, "name": "John", "email": "john@acme.inc", "type": "user"}
    [outgoing] = cw(CW_MESSAGE | {"message_type": "outgoing", "sender": agent})
    assert (outgoing.author_kind, outgoing.public, outgoing.author_email) == ("agent", True, "john@acme.inc")
    [note] = cw(CW_MESSAGE | {"message_type": "outgoing", "private": True, "sender": agent})
    assert (note.author_kind, note.public) == ("agent", False)
    [bot] = cw(CW_MESSAGE | {"message_type": "outgoing", "sender": {"id": 3, "name": "Bot", "type": "agent_bot"}})
    assert bot.author_kind == "system"
    [numeric] = cw(CW_MESSAGE | {"message_type": 1})
    assert numeric.author_kind == "agent"
    for kind in ("activity", "template", 2, 3):
        [ignored] = cw(CW_MESSAGE | {"message_type": kind})
        assert isinstance(ignored, Ignored)


@pytest.mark.parametrize(
    "status, expected", [("open", "open"), ("resolved", "solved"), ("snoozed", "pending"), ("pending", "pending")]
)
def test_chatwoot_status_changed(status: str, expected: Status) -> None:
    [change] = cw(CW_CONVERSATION | {"event": "conversation_status_changed", "status": status})
    assert change == InboundStatusChange(SRC, "10", expected, datetime.fromtimestamp(1627063520, tz=UTC))


def test_chatwoot_deprecated_status_events() -> None:
    assert cw(CW_CONVERSATION | {"event": "conversation_resolved"})[0].status == "solved"
    assert cw(CW_CONVERSATION | {"event": "conversation_opened", "status": "pending"})[0].status == "open"


def test_chatwoot_conversation_updated() -> None:
    payload = CW_CONVERSATION | {
        "event": "conversation_updated",
        "labels": ["vip"],
        "custom_attributes": {"plan": "pro"},
        "priority": "urgent",
        "changed_attributes": [{"priority": {"previous_value": None, "current_value": "urgent"}}],
    }
    at = datetime.fromtimestamp(1627063520, tz=UTC)
    assert cw(payload) == [
        InboundFieldsChange(SRC, "10", tags=("vip",), custom_fields={"plan": "pro"}, occurred_at=at),
        InboundPriorityChange(SRC, "10", "urgent", at),
    ]
    [ignored] = cw(CW_CONVERSATION | {"event": "conversation_updated"})
    assert isinstance(ignored, Ignored)


@pytest.mark.parametrize(
    "event", ["webwidget_triggered", "contact_created", "contact_updated", "message_updated", "brand_new"]
)
def test_chatwoot_not_ticket_events(event: str) -> None:
    [ignored] = cw({"event": event, "id": 12})
    assert isinstance(ignored, Ignored)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"id": 1}, "event"),
        ({"event": 3}, "event"),
        (CW_MESSAGE | {"conversation": None}, "conversation"),
        (CW_MESSAGE | {"conversation": {"id": None}}, "conversation.id"),
        (CW_MESSAGE | {"message_type": None}, "message_type"),
        (CW_MESSAGE | {"private": "yes"}, "private"),
        (
            CW_CONVERSATION | {"event": "conversation_created", "messages": [{"message_type": [0]}]},
            "messages.0.message_type",
        ),
        (CW_CONVERSATION | {"event": "conversation_status_changed", "status": 1}, "status"),
    ],
)
def test_chatwoot_broken_payloads(payload: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        cw(payload)
    assert info.value.field == field


# ================================================================ Intercom beyond the samples


def intercom_sample(name: str) -> dict[str, Any]:
    return load(WEBHOOKS / "zulip-intercom" / name)


def ic(payload: Any) -> list[Any]:
    return intercom.parse(payload, source=SRC)


def test_intercom_rating_added() -> None:
    payload = intercom_sample("conversation_admin_closed.json") | {"topic": "conversation.rating.added"}
    payload = copy.deepcopy(payload)
    payload["data"]["item"]["conversation_rating"] = {"rating": 5, "remark": "Great", "created_at": 1553291400}
    assert ic(payload) == [
        InboundRating(SRC, "21322009097", "good", "Great", datetime.fromtimestamp(1553291400, tz=UTC))
    ]
    payload["data"]["item"]["conversation_rating"] = {"rating": 1}
    assert ic(payload)[0].rating == "bad"
    payload["data"]["item"]["conversation_rating"] = {"rating": 3}
    assert isinstance(ic(payload)[0], Ignored)
    payload["data"]["item"]["conversation_rating"] = {"rating": "5"}
    with pytest.raises(PayloadError, match="conversation_rating.rating"):
        ic(payload)


def test_intercom_newer_source_shape_and_bot_authors() -> None:
    payload = copy.deepcopy(intercom_sample("conversation_user_created.json"))
    item = payload["data"]["item"]
    del item["conversation_message"], item["user"]
    item["source"] = {
        "type": "email",
        "delivered_as": "customer_initiated",
        "subject": "<p>Refund?</p>",
        "body": "<p>Hi,</p><p>where is my <b>refund</b>?</p>",
        "author": {"type": "user", "id": "5c95", "name": "Ann", "email": "ann@example.com"},
    }
    [ticket] = ic(payload)
    assert (ticket.channel, ticket.subject, ticket.body) == ("email", "Refund?", "Hi,\n\nwhere is my refund?")
    assert ticket.requester == Requester(email="ann@example.com", name="Ann")

    reply = copy.deepcopy(intercom_sample("conversation_admin_replied.json"))
    reply["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"]["type"] = "bot"
    assert ic(reply)[0].author_kind == "system"


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda p: p.pop("topic"), "topic"),
        (lambda p: p.update(topic=7), "topic"),
        (lambda p: p.pop("data"), "data"),
        (lambda p: p["data"].update(item="x"), "data.item"),
        (lambda p: p["data"]["item"].update(id=None), "data.item.id"),
        (
            lambda p: p["data"]["item"]["conversation_parts"].update(conversation_parts=[]),
            "data.item.conversation_parts.conversation_parts",
        ),
    ],
)
def test_intercom_broken_payloads(mutate: Any, field: str) -> None:
    payload = copy.deepcopy(intercom_sample("conversation_user_replied.json"))
    mutate(payload)
    with pytest.raises(PayloadError) as info:
        ic(payload)
    assert info.value.field == field


def test_intercom_unknown_topic_needs_no_data() -> None:
    assert ic({"type": "notification_event", "topic": "conversation.priority.updated"}) == [
        Ignored("unsupported event conversation.priority.updated")
    ]


# ================================================================ Front beyond the samples


def front_sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(load(WEBHOOKS / "zulip-front" / name))


def fr(payload: Any) -> list[Any]:
    return front.parse(payload, source=SRC)


def test_front_inbound_reply_is_a_customer_message() -> None:
    payload = front_sample("inbound_message.json")
    payload["target"]["data"]["_links"]["related"]["message_replied_to"] = "https://api2.frontapp.com/messages/msg_1"
    [message] = fr(payload)
    assert (type(message), message.author_kind, message.author_email, message.external_id) == (
        InboundMessage,
        "customer",
        "calculon@momsbot.com",
        "2x9c5v",
    )


def test_front_comment_tag_and_state_events() -> None:
    payload = front_sample("outbound_message.json")
    payload["type"] = "comment"
    payload["target"] = {
        "_meta": {"type": "comment"},
        "data": {
            "id": "com_1",
            "body": "Ask finance first",
            "posted_at": 1518309000,
            "author": {
                "id": "tea_1",
                "first_name": "Hermes",
                "last_name": "Conrad",
                "email": "hermes@planet-express.com",
            },
        },
    }
    [note] = fr(payload)
    assert (note.public, note.author_kind, note.body, note.author_name) == (
        False,
        "agent",
        "Ask finance first",
        "Hermes Conrad",
    )

    tagged = front_sample("outbound_message.json") | {"type": "tag"}
    tagged["conversation"]["tags"] = [{"id": "tag_1", "name": "refund"}, {"id": "tag_2", "name": "vip"}]
    assert fr(tagged)[0] == InboundFieldsChange(
        SRC, "cnv_keo696", tags=("refund", "vip"), occurred_at=datetime.fromtimestamp(1518307909.541, tz=UTC)
    )
    for kind, status in (("archive", "solved"), ("reopen", "open"), ("restore", "open"), ("trash", "closed")):
        assert fr(front_sample("outbound_message.json") | {"type": kind})[0].status == status
    for kind in ("mention", "unassign", "move"):
        assert isinstance(fr(front_sample("outbound_message.json") | {"type": kind})[0], Ignored)


def test_front_broken_payloads() -> None:
    with pytest.raises(PayloadError, match="type"):
        fr({"conversation": {}})
    with pytest.raises(PayloadError) as info:
        fr({"type": "inbound"})
    assert info.value.field == "conversation"
    with pytest.raises(PayloadError) as info:
        fr({"type": "comment", "conversation": {"id": "cnv_1"}})
    assert info.value.field == "target.data"


# ================================================================ Groove and Freshdesk edge cases


def test_groove_unknown_or_unguessable_event() -> None:
    assert groove.parse({"anything": 1}, source=SRC, event="ticket_tagged") == [
        Ignored("unsupported event ticket_tagged")
    ]
    with pytest.raises(PayloadError) as info:
        groove.parse({"anything": 1}, source=SRC)
    assert info.value.field == "X-Groove-Event"
    with pytest.raises(PayloadError) as info:
        groove.parse({"note": False, "body": "hi"}, source=SRC)
    assert info.value.field == "links.ticket.href"
    assert groove.parse({"ticket_number": 5, "state": "spam"}, source=SRC, event="ticket_state_changed")[0] == Ignored(
        "groove state 'spam' has no equivalent"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{ticket_action:created}", ("ticket_action", "created")),
        ("{status:{from:4,to:6}}", ("status", ("4", "6"))),
        ("{ priority : { from : 3 , to : 1 } }", ("priority", ("3", "1"))),
        ('{note_type:"private"}', ("note_type", "private")),
    ],
)
def test_freshdesk_triggered_event_reader(text: str, expected: tuple[str, Any]) -> None:
    assert freshdesk.read_triggered_event(text, "triggered_event") == expected


def test_freshdesk_automation_edge_cases() -> None:
    base = {"ticket_id": "11", "ticket_subject": "S", "ticket_status": "Closed", "ticket_priority": "Medium"}

    def fd(event: str, **extra: Any) -> list[Any]:
        return freshdesk.parse({"freshdesk_webhook": base | {"triggered_event": event} | extra}, source=SRC)

    assert fd("{status:{from:2,to:99}}") == [InboundStatusChange(SRC, "11", "closed")]  # falls back to the name
    assert fd("{status:{from:2,to:Waiting on Third Party}}") == [InboundStatusChange(SRC, "11", "on_hold")]
    assert isinstance(fd("{status:{from:2,to:99}}", ticket_status="Job Application")[0], Ignored)
    assert fd("{priority:{from:1,to:2}}") == [InboundPriorityChange(SRC, "11", "normal")]
    assert fd("{note_type:public}", note_body="<p>Done &amp; dusted</p>")[0].body == "Done & dusted"
    with pytest.raises(PayloadError) as info:
        fd("status changed")
    assert info.value.field == "freshdesk_webhook.triggered_event"
    with pytest.raises(PayloadError) as info:
        fd("{ticket_action:created}", ticket_subject=None)
    assert info.value.field == "freshdesk_webhook.ticket_subject"
    # a form post whose field holds the JSON text
    as_form = {"freshdesk_webhook": '{"ticket_id": 12, "triggered_event": "{priority:{from:1,to:4}}"}'}
    assert freshdesk.parse(as_form, source=SRC) == [InboundPriorityChange(SRC, "12", "urgent")]
    with pytest.raises(PayloadError, match="not valid JSON"):
        freshdesk.parse({"freshdesk_webhook": "{nope"}, source=SRC)


# ================================================================ HTML to text (the one mail bodies use too)


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>Hello</p>", "Hello"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("line<br>break<br/>again", "line\nbreak\nagain"),
        ("<div>Fish &amp; chips &lt;3 &#9731;</div>", "Fish & chips <3 ☃"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),  # the mail converter's list markers, shared since #15
        ("<style>p{color:red}</style><p>x</p><script>alert(1)</script>", "x"),
        ("<p>  lots   of\t space </p>", "lots of space"),
        ("plain text, no markup", "plain text, no markup"),
        ("<div><img src='x.png'></div><b>bold</b>", "bold"),
        ("<p>unclosed <b>tags", "unclosed tags"),
        ("<![CDATA[x]]> <!-- c --> < not a tag", "< not a tag"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
