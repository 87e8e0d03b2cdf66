"""Our Standard Webhooks signatures against the specification's reference library
(`standardwebhooks`, a dev dependency): what it signs we accept, what we sign it accepts.

The reference `Webhook.__init__` strips `whsec_` when present and base64-decodes the rest
(padding optional), so a secret is base64 with or without the prefix.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.ingest.webhooks import signatures as sig
from services.ingest.webhooks.signatures import SignatureError

BODY = b'{"event":"ticket.created","external_id":"ORD-1042","subject":"Caf\xc3\xa9 printer"}'
KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()  # 32 bytes, as senders generate
OTHER = base64.b64encode(b"another-key-for-rotation-tests!!").decode()
UNPADDED = base64.b64encode(b"thirty-one bytes of key material").decode().rstrip("=")
SECRETS = {
    "prefixed": "whsec_" + KEY,
    "unprefixed": KEY,
    "prefixed unpadded": "whsec_" + UNPADDED,
    "unprefixed unpadded": UNPADDED,
}


def reference_headers(*secrets: str, msg_id: str = "msg_2tY9yWQbm0y2xVq4aT6") -> tuple[dict[str, str], datetime]:
    """Headers as a sender using the reference library writes them, one signature per secret."""
    at = datetime.fromtimestamp(int(time.time()), tz=UTC)
    signatures = " ".join(Webhook(s).sign(msg_id, at, BODY.decode()) for s in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures}, at


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_we_accept_what_the_reference_library_signs(secret: str) -> None:
    headers, at = reference_headers(secret)
    assert sig.verify_standard([secret], headers, BODY, at) == headers["webhook-id"]


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_the_reference_library_accepts_what_we_sign(secret: str) -> None:
    at = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(at), "webhook-signature": ""}
    headers["webhook-signature"] = sig.sign_standard(secret, "msg_1", at, BODY)
    Webhook(secret).verify(BODY, headers, json_parse=False)  # raises if it does not match
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(BODY, headers, json_parse=False)


def test_a_prefixed_and_an_unprefixed_secret_are_the_same_key() -> None:
    assert sig.standard_key("whsec_" + KEY) == sig.standard_key(KEY) == base64.b64decode(KEY)
    headers, at = reference_headers(KEY)
    assert sig.verify_standard(["whsec_" + KEY], headers, BODY, at)


def test_one_of_several_signatures_matching_is_enough() -> None:
    headers, at = reference_headers(OTHER, KEY)  # a sender mid-rotation signs with both
    assert sig.verify_standard([KEY], headers, BODY, at)
    assert sig.verify_standard(["whsec_" + OTHER], headers, BODY, at)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard(["whsec_" + UNPADDED], headers, BODY, at)


def test_rotation_accepts_a_sender_on_the_old_or_the_new_secret() -> None:
    for sender in (KEY, "whsec_" + OTHER):
        headers, at = reference_headers(sender)
        assert sig.verify_standard(["whsec_" + KEY, OTHER], headers, BODY, at)
    headers, at = reference_headers(KEY)
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard([OTHER], headers, BODY, at)


def test_our_multiple_signatures_are_read_by_the_reference_library() -> None:
    at = int(time.time())
    header = " ".join(sig.sign_standard(s, "msg_9", at, BODY) for s in (OTHER, KEY))
    headers = {"webhook-id": "msg_9", "webhook-timestamp": str(at), "webhook-signature": header}
    Webhook(KEY).verify(BODY, headers, json_parse=False)
    Webhook(OTHER).verify(BODY, headers, json_parse=False)


# --- the rule for secrets configured before we followed the specification ------------------------

RAW = "second-secret-after-rotation"  # not base64 ('-' is not in its alphabet): no library sender has it


def test_an_unprefixed_secret_that_is_not_base64_stays_its_raw_bytes() -> None:
    assert sig.standard_key(RAW) == RAW.encode()
    at = int(time.time())
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": str(at),
        "webhook-signature": sig.sign_standard(RAW, "m", at, BODY),
    }
    assert sig.verify_standard([RAW], headers, BODY, datetime.fromtimestamp(at, tz=UTC)) == "m"


def test_an_unprefixed_base64_secret_still_accepts_a_sender_that_signs_with_its_raw_bytes() -> None:
    """Before, every unprefixed secret was raw bytes: such senders keep working, while a sender
    following the specification (the decoded key) now works too."""
    at = int(time.time())
    message = f"m.{at}.".encode() + BODY
    legacy = "v1," + base64.b64encode(sig._hmac(KEY.encode(), message, "sha256")).decode()
    headers = {"webhook-id": "m", "webhook-timestamp": str(at), "webhook-signature": legacy}
    assert sig.verify_standard([KEY], headers, BODY, datetime.fromtimestamp(at, tz=UTC)) == "m"
    # the prefix says "base64, nothing else": no raw-bytes fallback for it
    with pytest.raises(SignatureError, match="does not match"):
        sig.verify_standard(["whsec_" + KEY], headers, BODY, datetime.fromtimestamp(at, tz=UTC))
