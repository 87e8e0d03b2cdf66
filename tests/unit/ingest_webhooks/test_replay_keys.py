"""`replay_key`: a natively signed request is known by what its signature covers, not by its
unsigned delivery headers, so a replay with a fresh `webhook-id` has the same key."""

from __future__ import annotations

import hashlib

import pytest

from services.ingest.webhooks import signatures as sig

BODY = b'{"event":"conversation_created","id":10}'
TS, ZD_TS = "1736337600", "2025-01-08T12:00:00Z"


def native(kind: str, body: bytes = BODY, ts: str | None = None) -> dict[str, str]:
    if kind == "zendesk":
        return {
            "X-Zendesk-Webhook-Signature": sig.sign_zendesk("s", ts or ZD_TS, body),
            sig.ZENDESK_TIMESTAMP: ts or ZD_TS,
        }
    if kind == "chatwoot":
        return {"X-Chatwoot-Signature": sig.sign_chatwoot("s", ts or TS, body), "X-Chatwoot-Timestamp": ts or TS}
    return {"X-Hub-Signature": sig.sign_intercom("s", body)}


@pytest.mark.parametrize("kind", ["zendesk", "chatwoot", "intercom"])
def test_unsigned_delivery_headers_do_not_change_the_key(kind: str) -> None:
    first = sig.replay_key(kind, native(kind) | {"webhook-id": "msg_1", "X-Chatwoot-Delivery": "d1"}, BODY)
    replay = sig.replay_key(kind, native(kind) | {"webhook-id": "msg_2", "Idempotency-Key": "k"}, BODY)
    assert first is not None and first == replay
    assert first.startswith(f"signed:{kind}:sha256:")


@pytest.mark.parametrize("kind", ["zendesk", "chatwoot", "intercom"])
def test_another_body_is_another_key(kind: str) -> None:
    assert sig.replay_key(kind, native(kind), BODY) != sig.replay_key(kind, native(kind, b"{}"), b"{}")


@pytest.mark.parametrize(("kind", "later"), [("zendesk", "2025-01-08T12:00:01Z"), ("chatwoot", "1736337601")])
def test_a_timestamped_scheme_re_signed_later_is_another_key(kind: str, later: str) -> None:
    assert sig.replay_key(kind, native(kind), BODY) != sig.replay_key(kind, native(kind, ts=later), BODY)


def test_the_key_hashes_exactly_the_signed_bytes() -> None:
    digest = hashlib.sha256
    assert sig.replay_key("zendesk", native("zendesk"), BODY) == (
        "signed:zendesk:sha256:" + digest(ZD_TS.encode() + BODY).hexdigest()
    )
    assert sig.replay_key("chatwoot", native("chatwoot"), BODY) == (
        "signed:chatwoot:sha256:" + digest(f"{TS}.".encode() + BODY).hexdigest()
    )
    assert sig.replay_key("intercom", native("intercom"), BODY) == "signed:intercom:sha256:" + digest(BODY).hexdigest()


@pytest.mark.parametrize("kind", ["generic", "freshdesk", "groove", "front"])
def test_kinds_without_a_native_signature_have_no_key(kind: str) -> None:
    assert sig.replay_key(kind, native("zendesk") | native("chatwoot"), BODY) is None


def test_a_missing_timestamp_gives_no_key() -> None:
    assert sig.replay_key("zendesk", {}, BODY) is None
    assert sig.replay_key("chatwoot", {"X-Chatwoot-Signature": "sha256=00"}, BODY) is None
