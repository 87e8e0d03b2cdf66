"""Payloads for platforms with no real sample files (see shared/data/SOURCES.md, note 3).

Built from the shapes the platforms publish: developer.zendesk.com "Ticket events"
(event webhooks) and Chatwoot's "Webhook events" samples. Trimmed to what matters.
"""

from __future__ import annotations

from typing import Any

# Shape of developer.zendesk.com's ticket-event payloads (detail = the ticket, event = the change).
ZD_DETAIL = {
    "actor_id": "8447388090494",
    "assignee_id": "8447388090494",
    "brand_id": "8447346621310",
    "created_at": "2025-01-08T10:12:07Z",
    "custom_status": "8447320465790",
    "description": "Customer is experiencing login issues with the mobile app",
    "external_id": None,
    "form_id": "8646151517822",
    "group_id": "8447320466430",
    "id": "5158",
    "is_public": True,
    "organization_id": "8447346622462",
    "priority": "HIGH",
    "requester_id": "8447388090494",
    "status": "OPEN",
    "subject": "Cannot login to mobile app",
    "submitter_id": "8447388090494",
    "tags": ["mobile", "login"],
    "type": "PROBLEM",
    "updated_at": "2025-01-08T10:12:07Z",
    "via": {"channel": "web_service"},
}


def zd_event(type_: str, event: dict[str, Any] | None = None, **detail: Any) -> dict[str, Any]:
    return {
        "type": f"zen:event-type:{type_}",
        "account_id": 22129848,
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "time": "2025-01-08T10:12:07.672717030Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:5158",
        "detail": ZD_DETAIL | detail,
        "event": event if event is not None else {},
    }


# From Chatwoot's "Webhook events" samples (conversation object, message_created).
CW_CONVERSATION = {
    "additional_attributes": {"browser": {"browser_name": "Chrome"}, "referer": "http://localhost:3000/widget_tests"},
    "can_reply": True,
    "channel": "Channel::WebWidget",
    "id": 10,
    "inbox_id": 1,
    "contact_inbox": {"id": 12, "contact_id": 12, "inbox_id": 1, "source_id": "405f1d30"},
    "messages": [
        {
            "id": 120,
            "content": "Get notified by email",
            "message_type": 3,
            "private": False,
            "content_type": "input_email",
            "conversation_id": 10,
        },
        {"id": 121, "content": "My order never arrived", "message_type": 0, "private": False, "conversation_id": 10},
    ],
    "meta": {
        "sender": {"email": "jane@acme.inc", "id": 12, "name": "jane", "type": "contact"},
        "assignee": {"id": 1, "name": "John", "type": "user"},
    },
    "status": "open",
    "unread_count": 0,
    "timestamp": 1627063520,
}
CW_MESSAGE = {
    "id": 118,
    "content": "hi",
    "created_at": "2021-07-23T18:02:48.000Z",
    "message_type": "incoming",
    "content_type": "text",
    "private": False,
    "content_attributes": {},
    "source_id": None,
    "sender": {"id": 14, "name": "little-haze-776", "avatar": "", "type": "contact"},
    "inbox": {"id": 1, "name": "Acme Support"},
    "conversation": CW_CONVERSATION,
    "account": {"id": 1, "name": "Acme Inc"},
    "event": "message_created",
}
