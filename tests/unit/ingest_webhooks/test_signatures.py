"""Signature schemes: valid, tampered, wrong secret, rotation, replay window, missing and malformed headers."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.webhooks import signatures as sig
from services.ingest.webhooks.signatures import SignatureError

NOW = datetime(2025, 1, 8, 12, 0, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"event":"ticket.created","subject":"Printer on fire"}'
OLD, NEW, OTHER = "whsec_b2xkLXNlY3JldC1rZXktZm9yLXRlc3Rz", "whsec_bmV3LXNlY3JldC1rZXktZm9yLXRlc3Rz", "whsec_b3RoZXI="
FIVE_MIN = timedelta(minutes=5)
SECOND = timedelta(seconds=1)


# ================================================================ Standard Webhooks


def std_headers(secret: str = NEW, *, ts: int = TS, body: bytes = BODY, msg_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sig.sign_standard(secret, msg_id, ts, body),
    }


def test_standard_known_answer_from_the_spec() -> None:
    # The Standard Webhooks specification's published test vector (also used by its libraries).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sig.sign_standard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
    }
    now = datetime.fromtimestamp(1614265330, tz=UTC)
    assert sig.verify_standard([secret], headers, body, now) == "msg_p5jXN8AQM9LWM0D4loKWxJek"


def test_standard_valid_returns_the_message_id() -> None:
    assert sig.verify_standard([NEW], std_headers(msg_id="msg_42"), BODY, NOW) == "msg_42"


def test_standard_headers_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in std_headers().items()}
    assert sig.verify_standard([NEW], headers, BODY, NOW) == "msg_1"


def test_standard_sign_accepts_a_datetime() -> None:
    assert sig.sign_standard(NEW, "msg_1", NOW, BODY) == sig.sign_standard(NEW, "msg_1", TS, BODY)


def test_standard_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard([NEW], std_headers(), BODY + b" ", NOW)


def test_standard_tampered_id_is_rejected() -> None:
    headers = std_headers() | {"webhook-id": "msg_2"}
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard([NEW], headers, BODY, NOW)


def test_standard_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard([OTHER], std_headers(NEW), BODY, NOW)


def test_standard_rotation_accepts_old_and_new_secrets() -> None:
    assert sig.verify_standard([NEW, OLD], std_headers(OLD), BODY, NOW) == "msg_1"
    assert sig.verify_standard([NEW, OLD], std_headers(NEW), BODY, NOW) == "msg_1"
    with pytest.raises(SignatureError):  # once the old secret is retired
        sig.verify_standard([NEW], std_headers(OLD), BODY, NOW)


def test_standard_header_may_carry_several_signatures() -> None:
    good = std_headers()["webhook-signature"]
    from_old = sig.sign_standard(OLD, "msg_1", TS, BODY)
    for header in (
        f"{from_old} {good}",  # sender signing with two secrets during its own rotation
        f"v1,AAAA {good}",  # a stale entry first
        f"v1a,c29tZXRoaW5nIGFzeW1tZXRyaWM= {good}",  # another scheme we do not use
        f"v1,not-base64!! {good}",
        f"  {good}   ",
    ):
        assert sig.verify_standard([NEW], std_headers() | {"webhook-signature": header}, BODY, NOW) == "msg_1"
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard([NEW], std_headers() | {"webhook-signature": f"{from_old} v1,AAAA"}, BODY, NOW)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_missing_header_is_named(header: str) -> None:
    headers = std_headers()
    del headers[header]
    with pytest.raises(SignatureError, match=f"missing {header}"):
        sig.verify_standard([NEW], headers, BODY, NOW)
    with pytest.raises(SignatureError, match=f"missing {header}"):
        sig.verify_standard([NEW], headers | {header: "  "}, BODY, NOW)


@pytest.mark.parametrize("value", ["v1", "v1,", "v2,abc", "sha256=abcdef", "v1,@@@", "", "v1a,abc"])
def test_standard_malformed_signature_is_rejected(value: str) -> None:
    with pytest.raises(SignatureError):
        sig.verify_standard([NEW], std_headers() | {"webhook-signature": value}, BODY, NOW)


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "１２３", "1e9"])
def test_standard_malformed_timestamp_is_rejected(value: str) -> None:
    with pytest.raises(SignatureError, match="webhook-timestamp"):
        sig.verify_standard([NEW], std_headers() | {"webhook-timestamp": value}, BODY, NOW)


def test_standard_replay_window_is_five_minutes_either_way() -> None:
    for sent in (NOW - FIVE_MIN, NOW + FIVE_MIN, NOW):
        ts = int(sent.timestamp())
        assert sig.verify_standard([NEW], std_headers(ts=ts), BODY, NOW) == "msg_1"
    with pytest.raises(SignatureError, match="too old"):
        sig.verify_standard([NEW], std_headers(ts=int((NOW - FIVE_MIN - SECOND).timestamp())), BODY, NOW)
    with pytest.raises(SignatureError, match="future"):
        sig.verify_standard([NEW], std_headers(ts=int((NOW + FIVE_MIN + SECOND).timestamp())), BODY, NOW)


def test_standard_tolerance_is_configurable() -> None:
    stale = std_headers(ts=TS - 3600)
    assert sig.verify_standard([NEW], stale, BODY, NOW, tolerance=timedelta(hours=1)) == "msg_1"
    with pytest.raises(SignatureError):
        sig.verify_standard([NEW], std_headers(ts=TS - 61), BODY, NOW, tolerance=timedelta(minutes=1))


def test_standard_timestamp_is_checked_before_the_signature() -> None:
    # a replayed request with a valid signature is still refused
    old = std_headers(ts=TS - 3600)
    with pytest.raises(SignatureError, match="replay"):
        sig.verify_standard([NEW], old, BODY, NOW)


def test_standard_secret_rule_base64_with_or_without_whsec_anything_else_is_raw() -> None:
    raw = "correct horse battery staple"
    assert sig.standard_key(raw) == raw.encode()
    assert sig.standard_key("whsec_aGVsbG8=") == sig.standard_key("aGVsbG8=") == sig.standard_key("aGVsbG8") == b"hello"
    assert sig.verify_standard([raw], std_headers(raw), BODY, NOW) == "msg_1"
    # the same bytes given either way sign alike
    assert sig.sign_standard("whsec_aGVsbG8=", "m", TS, BODY) == sig.sign_standard("hello", "m", TS, BODY)


@pytest.mark.parametrize("secrets", [[], ["whsec_!!notbase64"], [""], "whsec_aGVsbG8="])
def test_standard_bad_configuration_is_a_plain_value_error(secrets: Any) -> None:
    with pytest.raises(ValueError) as info:
        sig.verify_standard(secrets, std_headers(), BODY, NOW)
    assert not isinstance(info.value, SignatureError)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as info:
        sig.verify_standard([NEW], std_headers(), BODY, NOW.replace(tzinfo=None))
    assert not isinstance(info.value, SignatureError)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(sig.hmac, "compare_digest", spy)
    sig.verify_standard([NEW, OLD], std_headers(OLD), BODY, NOW)
    assert len(calls) == 2  # every secret is compared, even after a match fails/succeeds


def test_signature_error_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError) as info:
        sig.verify_standard([NEW], {}, BODY, NOW)
    assert isinstance(info.value, SignatureError)
    assert str(info.value) == "missing webhook-id header"


# ================================================================ Zendesk

ZD_SECRET, ZD_OLD = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", "previous-zendesk-secret"
ZD_TS = "2025-01-08T12:00:00Z"


def zd_headers(secret: str = ZD_SECRET, ts: str = ZD_TS, body: bytes = BODY) -> dict[str, str]:
    return {
        "X-Zendesk-Webhook-Signature": sig.sign_zendesk(secret, ts, body),
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
    }


def test_zendesk_signs_timestamp_then_body_as_documented() -> None:
    # developer.zendesk.com/documentation/webhooks/verifying: base64(HMACSHA256(TIMESTAMP + BODY)),
    # the secret used as-is (the value in Zendesk's example is the one it uses for test requests).
    import base64
    import hashlib

    manual = base64.b64encode(hmac.new(ZD_SECRET.encode(), ZD_TS.encode() + BODY, hashlib.sha256).digest()).decode()
    assert sig.sign_zendesk(ZD_SECRET, ZD_TS, BODY) == manual
    sig.verify_zendesk([ZD_SECRET], zd_headers(), BODY, NOW)  # raises SignatureError unless it matches


def test_zendesk_rejects_tampering_wrong_secret_and_accepts_rotation() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_zendesk([ZD_SECRET], zd_headers(), BODY + b"x", NOW)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_zendesk(["not-it"], zd_headers(), BODY, NOW)
    with pytest.raises(SignatureError, match="does not match"):  # the timestamp is signed too
        sig.verify_zendesk(
            [ZD_SECRET], zd_headers() | {"X-Zendesk-Webhook-Signature-Timestamp": "2025-01-08T12:00:01Z"}, BODY, NOW
        )
    sig.verify_zendesk([ZD_SECRET, ZD_OLD], zd_headers(ZD_OLD), BODY, NOW)
    sig.verify_zendesk([ZD_SECRET, ZD_OLD], zd_headers(ZD_SECRET), BODY, NOW)


def test_zendesk_replay_window() -> None:
    edge_old, edge_new = "2025-01-08T11:55:00Z", "2025-01-08T12:05:00+00:00"
    sig.verify_zendesk([ZD_SECRET], zd_headers(ts=edge_old), BODY, NOW)
    sig.verify_zendesk([ZD_SECRET], zd_headers(ts=edge_new), BODY, NOW)
    with pytest.raises(SignatureError, match="too old"):
        sig.verify_zendesk([ZD_SECRET], zd_headers(ts="2025-01-08T11:54:59Z"), BODY, NOW)
    with pytest.raises(SignatureError, match="future"):
        sig.verify_zendesk([ZD_SECRET], zd_headers(ts="2025-01-08T12:05:01Z"), BODY, NOW)
    sig.verify_zendesk([ZD_SECRET], zd_headers(ts=str(TS)), BODY, NOW)  # unix seconds are accepted too


@pytest.mark.parametrize("drop", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"])
def test_zendesk_missing_headers(drop: str) -> None:
    headers = zd_headers()
    del headers[drop]
    with pytest.raises(SignatureError, match=f"missing {drop.lower()}"):
        sig.verify_zendesk([ZD_SECRET], headers, BODY, NOW)


def test_zendesk_malformed_headers() -> None:
    with pytest.raises(SignatureError, match="not base64"):
        sig.verify_zendesk([ZD_SECRET], zd_headers() | {"X-Zendesk-Webhook-Signature": "%%%"}, BODY, NOW)
    with pytest.raises(SignatureError, match="ISO-8601"):
        sig.verify_zendesk([ZD_SECRET], zd_headers(ts="yesterday"), BODY, NOW)


# ================================================================ Chatwoot

CW_SECRET, CW_OLD = "cw-secret-new", "cw-secret-old"


def cw_headers(secret: str = CW_SECRET, ts: int = TS, body: bytes = BODY) -> dict[str, str]:
    return {
        "X-Chatwoot-Signature": sig.sign_chatwoot(secret, ts, body),
        "X-Chatwoot-Timestamp": str(ts),
        "X-Chatwoot-Delivery": "8f0c1f3e-delivery",
    }


def test_chatwoot_signs_timestamp_dot_body_as_hex_sha256() -> None:
    import hashlib

    manual = "sha256=" + hmac.new(CW_SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sig.sign_chatwoot(CW_SECRET, TS, BODY) == manual
    assert sig.verify_chatwoot([CW_SECRET], cw_headers(), BODY, NOW) == "8f0c1f3e-delivery"
    headers = cw_headers()
    del headers["X-Chatwoot-Delivery"]
    assert sig.verify_chatwoot([CW_SECRET], headers, BODY, NOW) is None


def test_chatwoot_rejects_tampering_and_wrong_secret_accepts_rotation() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_chatwoot([CW_SECRET], cw_headers(), b"{}", NOW)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_chatwoot(["nope"], cw_headers(), BODY, NOW)
    assert sig.verify_chatwoot([CW_SECRET, CW_OLD], cw_headers(CW_OLD), BODY, NOW)
    # upper-case hex is the same signature
    headers = cw_headers()
    headers["X-Chatwoot-Signature"] = "sha256=" + headers["X-Chatwoot-Signature"][7:].upper()
    assert sig.verify_chatwoot([CW_SECRET], headers, BODY, NOW)


def test_chatwoot_replay_window_and_malformed_headers() -> None:
    assert sig.verify_chatwoot([CW_SECRET], cw_headers(ts=TS - 300), BODY, NOW)
    assert sig.verify_chatwoot([CW_SECRET], cw_headers(ts=TS + 300), BODY, NOW)
    with pytest.raises(SignatureError, match="too old"):
        sig.verify_chatwoot([CW_SECRET], cw_headers(ts=TS - 301), BODY, NOW)
    with pytest.raises(SignatureError, match="future"):
        sig.verify_chatwoot([CW_SECRET], cw_headers(ts=TS + 301), BODY, NOW)
    for bad in ("md5=abcd", "sha256=xyz", "abcdef", "sha256="):
        with pytest.raises(SignatureError, match="sha256=<hex>"):
            sig.verify_chatwoot([CW_SECRET], cw_headers() | {"X-Chatwoot-Signature": bad}, BODY, NOW)
    for drop in ("X-Chatwoot-Signature", "X-Chatwoot-Timestamp"):
        headers = cw_headers()
        del headers[drop]
        with pytest.raises(SignatureError, match="missing"):
            sig.verify_chatwoot([CW_SECRET], headers, BODY, NOW)


# ================================================================ Intercom


def test_intercom_hub_signature() -> None:
    import hashlib

    secret, old = "intercom-client-secret", "previous-client-secret"
    header = sig.sign_intercom(secret, BODY)
    assert header == "sha1=" + hmac.new(secret.encode(), BODY, hashlib.sha1).hexdigest()
    sig.verify_intercom([secret], {"X-Hub-Signature": header}, BODY, NOW)
    sig.verify_intercom([secret, old], {"x-hub-signature": sig.sign_intercom(old, BODY)}, BODY, NOW)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_intercom([secret], {"X-Hub-Signature": header}, BODY + b"\n", NOW)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_intercom(["other"], {"X-Hub-Signature": header}, BODY, NOW)
    with pytest.raises(SignatureError, match="missing x-hub-signature"):
        sig.verify_intercom([secret], {}, BODY, NOW)
    with pytest.raises(SignatureError, match="sha1=<hex>"):
        sig.verify_intercom([secret], {"X-Hub-Signature": "sha256=" + header[5:]}, BODY, NOW)


# ================================================================ Mailgun

MG_KEY, MG_OLD = "key-mailgun-signing", "key-mailgun-previous"
TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"


def mg_fields(key: str = MG_KEY, ts: int = TS, token: str = TOKEN) -> dict[str, object]:
    return {"timestamp": str(ts), "token": token, "signature": sig.sign_mailgun(key, ts, token)}


def test_mailgun_signature_is_hex_hmac_of_timestamp_and_token() -> None:
    import hashlib

    expected = hmac.new(MG_KEY.encode(), f"{TS}{TOKEN}".encode(), hashlib.sha256).hexdigest()
    assert sig.sign_mailgun(MG_KEY, TS, TOKEN) == expected
    assert sig.verify_mailgun([MG_KEY], mg_fields(), NOW) == TOKEN
    # event webhooks send the JSON `signature` object, whose timestamp may be a number
    assert sig.verify_mailgun([MG_KEY], mg_fields() | {"timestamp": TS}, NOW) == TOKEN


def test_mailgun_rejections_and_rotation() -> None:
    assert sig.verify_mailgun([MG_KEY, MG_OLD], mg_fields(MG_OLD), NOW) == TOKEN
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_mailgun([MG_KEY], mg_fields() | {"token": TOKEN[:-1] + "4"}, NOW)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_mailgun(["key-other"], mg_fields(), NOW)
    with pytest.raises(SignatureError, match="too old"):
        sig.verify_mailgun([MG_KEY], mg_fields(ts=TS - 301), NOW)
    with pytest.raises(SignatureError, match="future"):
        sig.verify_mailgun([MG_KEY], mg_fields(ts=TS + 301), NOW)
    assert sig.verify_mailgun([MG_KEY], mg_fields(ts=TS - 300), NOW) == TOKEN
    for name in ("timestamp", "token", "signature"):
        fields = mg_fields()
        del fields[name]
        with pytest.raises(SignatureError, match=f"missing Mailgun {name}"):
            sig.verify_mailgun([MG_KEY], fields, NOW)
    with pytest.raises(SignatureError, match="not hex"):
        sig.verify_mailgun([MG_KEY], mg_fields() | {"signature": "zz"}, NOW)


def test_schemes_by_kind() -> None:
    assert {
        "generic": sig.verify_standard,
        "zendesk": sig.verify_zendesk,
        "chatwoot": sig.verify_chatwoot,
        "intercom": sig.verify_intercom,
    } == sig.SCHEMES
