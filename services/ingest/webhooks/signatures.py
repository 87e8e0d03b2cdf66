"""Webhook signature verification, pure: the caller passes the raw body, the headers and `now`.

Every verifier takes a *sequence* of secrets so a secret can be rotated without downtime
(old and new are both accepted until the old one is removed), compares in constant time,
and raises `SignatureError` (a ValueError, meant to become an HTTP 401 with its message as
the detail) when the request is not authentic. A bad *configuration* (no secrets, a
`whsec_` secret that is not base64, a naive `now`) raises a plain ValueError instead: that
is our fault, not the sender's.

Schemes:

- Standard Webhooks (standardwebhooks.com, v1): `webhook-id`, `webhook-timestamp` (unix
  seconds), `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256(key,
  "{id}.{timestamp}.{body}")>`. Secret rule, as the specification and its reference library
  (`standardwebhooks.Webhook`) have it: the secret is base64, with or without the `whsec_`
  prefix (padding optional), and the key is its decoded bytes. For secrets configured
  before we followed that: an unprefixed secret that is not base64 is used as its UTF-8
  bytes, and a signature made with the UTF-8 bytes of an unprefixed base64 secret is still
  accepted (`standard_keys`); we sign with the decoded key. A `whsec_` secret is base64 only.
- Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body))
  with `X-Zendesk-Webhook-Signature-Timestamp` (ISO-8601, e.g. `2021-07-25T10:00:00Z`).
  The secret is used as its UTF-8 bytes, as Zendesk's docs do.
- Chatwoot: `X-Chatwoot-Signature` = `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`
  with `X-Chatwoot-Timestamp` (unix seconds); `X-Chatwoot-Delivery` is a per-delivery id.
- Intercom: `X-Hub-Signature` = `sha1=<hex HMAC-SHA1(client_secret, body)>`. Intercom sends
  no timestamp, so there is no replay window: de-duplicate on the signed body (`replay_key`).

Replays: an unsigned delivery id (`webhook-id`, `Idempotency-Key`, ...) added to a natively
signed request proves nothing, so `replay_key` names what the signature covers; the caller
answers a second request with the same key as a retry.
- Mailgun: the signature travels in the payload (`signature.{timestamp,token,signature}` in
  event webhooks, top-level form fields in inbound routes): hex HMAC-SHA256(signing_key,
  timestamp + token). Reuse of a token within the window is a replay: the caller keeps
  the tokens it has seen (this module has no state).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_TOLERANCE = timedelta(minutes=5)
WHSEC_PREFIX = "whsec_"

STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"
ZENDESK_SIGNATURE = "x-zendesk-webhook-signature"
ZENDESK_TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
CHATWOOT_SIGNATURE = "x-chatwoot-signature"
CHATWOOT_TIMESTAMP = "x-chatwoot-timestamp"
CHATWOOT_DELIVERY = "x-chatwoot-delivery"
INTERCOM_SIGNATURE = "x-hub-signature"


class SignatureError(ValueError):
    """The request is not authentically from the configured sender (answer 401 with str(exc))."""


# ---------------------------------------------------------------- helpers


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): v for k, v in headers.items()}


def _header(headers: dict[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not str(value).strip():
        raise SignatureError(f"missing {name} header")
    return str(value).strip()


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _check_secrets(secrets: Sequence[str]) -> None:
    if isinstance(secrets, (str, bytes)):
        raise ValueError("secrets must be a sequence of strings, not a single string")
    if not secrets:
        raise ValueError("no webhook secret is configured")


def _check_window(sent_at: datetime, now: datetime, tolerance: timedelta, header: str) -> None:
    _check_now(now)
    skew = now - sent_at
    if skew > tolerance:
        raise SignatureError(f"{header} is too old ({int(skew.total_seconds())} s); possible replay")
    if -skew > tolerance:
        raise SignatureError(f"{header} is too far in the future ({int(-skew.total_seconds())} s)")


def _unix_seconds(value: str, header: str) -> datetime:
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise SignatureError(f"{header} is not a unix timestamp in seconds")
    try:
        return datetime.fromtimestamp(int(text), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SignatureError(f"{header} is out of range") from None


def _hmac(key: bytes, message: bytes, digest: str) -> bytes:
    return hmac.new(key, message, digest).digest()


def _any_match(expected: Sequence[bytes], provided: Sequence[bytes]) -> bool:
    """Constant-time per comparison; every pair is compared (no early exit on a match)."""
    matched = False
    for want in expected:
        for got in provided:
            matched |= hmac.compare_digest(want, got)
    return matched


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unhex(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value.strip()) or None
    except ValueError:
        return None


def _unb64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip().encode("ascii"), validate=True) or None
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


# ---------------------------------------------------------------- Standard Webhooks


_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _secret_bytes(text: str) -> bytes | None:
    """`text` as base64 (standard alphabet, padding optional, as the reference library takes it)."""
    if not _BASE64.fullmatch(text):
        return None
    data = text.rstrip("=")
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def standard_key(secret: str) -> bytes:
    """The HMAC key for a Standard Webhooks secret, the one we sign with (see the module docstring)."""
    if secret.startswith(WHSEC_PREFIX):
        key = _secret_bytes(secret[len(WHSEC_PREFIX) :])
        if key is None:
            raise ValueError("a whsec_ secret must be followed by base64")
        return key
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    return _secret_bytes(secret) or secret.encode("utf-8")


def standard_keys(secret: str) -> list[bytes]:
    """The keys a signature made with `secret` may use: `standard_key`, and for an unprefixed
    base64 secret also its raw UTF-8 bytes (how every unprefixed secret was used before)."""
    key = standard_key(secret)
    if secret.startswith(WHSEC_PREFIX) or key == secret.encode("utf-8"):
        return [key]
    return [key, secret.encode("utf-8")]


def _timestamp_text(timestamp: int | datetime) -> str:
    if isinstance(timestamp, datetime):
        _check_now(timestamp)
        return str(int(timestamp.timestamp()))
    return str(int(timestamp))


def sign_standard(secret: str, msg_id: str, timestamp: int | datetime, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for one secret."""
    message = f"{msg_id}.{_timestamp_text(timestamp)}.".encode("utf-8", "replace") + body
    return "v1," + _b64(_hmac(standard_key(secret), message, "sha256"))


def verify_standard(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Check a Standard Webhooks request; returns its `webhook-id` (use it to drop redeliveries)."""
    _check_secrets(secrets)
    keys = [key for s in secrets for key in standard_keys(s)]
    h = _lower(headers)
    msg_id = _header(h, STANDARD_ID)
    timestamp = _header(h, STANDARD_TIMESTAMP)
    signature = _header(h, STANDARD_SIGNATURE)
    _check_window(_unix_seconds(timestamp, STANDARD_TIMESTAMP), now, tolerance, STANDARD_TIMESTAMP)

    provided = []
    for entry in signature.split():
        version, sep, value = entry.partition(",")
        if sep and version == "v1":
            decoded = _unb64(value)
            if decoded is not None:
                provided.append(decoded)
    if not provided:
        raise SignatureError(f"{STANDARD_SIGNATURE} has no well-formed v1 signature")
    message = f"{msg_id}.{timestamp}.".encode("utf-8", "replace") + body
    if not _any_match([_hmac(k, message, "sha256") for k in keys], provided):
        raise SignatureError("signature does not match")
    return msg_id


# ---------------------------------------------------------------- Zendesk


def _iso_or_unix(value: str, header: str) -> datetime:
    text = value.strip()
    if text.isdigit():
        return _unix_seconds(text, header)
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise SignatureError(f"{header} is not an ISO-8601 timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _zendesk_message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("utf-8", "replace") + body


def sign_zendesk(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Zendesk-Webhook-Signature` value for a timestamp header value and body."""
    return _b64(_hmac(secret.encode("utf-8"), _zendesk_message(timestamp, body), "sha256"))


def verify_zendesk(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    _check_secrets(secrets)
    h = _lower(headers)
    signature = _header(h, ZENDESK_SIGNATURE)
    timestamp = _header(h, ZENDESK_TIMESTAMP)
    _check_window(_iso_or_unix(timestamp, ZENDESK_TIMESTAMP), now, tolerance, ZENDESK_TIMESTAMP)
    provided = _unb64(signature)
    if provided is None:
        raise SignatureError(f"{ZENDESK_SIGNATURE} is not base64")
    message = _zendesk_message(timestamp, body)
    expected = [_hmac(s.encode("utf-8"), message, "sha256") for s in secrets]
    if not _any_match(expected, [provided]):
        raise SignatureError("signature does not match")


# ---------------------------------------------------------------- Chatwoot


def _chatwoot_message(timestamp: int | str, body: bytes) -> bytes:
    return f"{timestamp}.".encode("utf-8", "replace") + body


def sign_chatwoot(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Chatwoot-Signature` value (`sha256=<hex>`)."""
    return "sha256=" + _hmac(secret.encode("utf-8"), _chatwoot_message(timestamp, body), "sha256").hex()


def verify_chatwoot(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str | None:
    """Check a Chatwoot request; returns `X-Chatwoot-Delivery` when sent (a per-delivery id)."""
    _check_secrets(secrets)
    h = _lower(headers)
    signature = _header(h, CHATWOOT_SIGNATURE)
    timestamp = _header(h, CHATWOOT_TIMESTAMP)
    _check_window(_unix_seconds(timestamp, CHATWOOT_TIMESTAMP), now, tolerance, CHATWOOT_TIMESTAMP)
    scheme, sep, value = signature.partition("=")
    provided = _unhex(value) if sep and scheme.strip().lower() == "sha256" else None
    if provided is None:
        raise SignatureError(f"{CHATWOOT_SIGNATURE} must look like sha256=<hex>")
    message = _chatwoot_message(timestamp, body)
    expected = [_hmac(s.encode("utf-8"), message, "sha256") for s in secrets]
    if not _any_match(expected, [provided]):
        raise SignatureError("signature does not match")
    delivery = str(h.get(CHATWOOT_DELIVERY) or "").strip()
    return delivery or None


# ---------------------------------------------------------------- Intercom


def sign_intercom(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value (`sha1=<hex>`)."""
    return "sha1=" + _hmac(secret.encode("utf-8"), body, "sha1").hex()


def verify_intercom(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> None:
    """Check an Intercom request. `now`/`tolerance` are accepted for symmetry; Intercom signs no time."""
    _check_secrets(secrets)
    _check_now(now)
    h = _lower(headers)
    signature = _header(h, INTERCOM_SIGNATURE)
    scheme, sep, value = signature.partition("=")
    provided = _unhex(value) if sep and scheme.strip().lower() == "sha1" else None
    if provided is None:
        raise SignatureError(f"{INTERCOM_SIGNATURE} must look like sha1=<hex>")
    expected = [_hmac(s.encode("utf-8"), body, "sha1") for s in secrets]
    if not _any_match(expected, [provided]):
        raise SignatureError("signature does not match")


# ---------------------------------------------------------------- Mailgun


def sign_mailgun(signing_key: str, timestamp: int | str, token: str) -> str:
    """The hex `signature` Mailgun computes for a timestamp and token."""
    return _hmac(signing_key.encode("utf-8"), f"{timestamp}{token}".encode(), "sha256").hex()


def verify_mailgun(
    secrets: Sequence[str],
    fields: Mapping[str, Any],
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Check Mailgun's `timestamp`/`token`/`signature` (the JSON `signature` object or the
    inbound form fields); returns the token, which the caller must not accept twice."""
    _check_secrets(secrets)
    values: dict[str, str] = {}
    for name in ("timestamp", "token", "signature"):
        value = fields.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise SignatureError(f"missing Mailgun {name}")
        values[name] = value.strip()
    _check_window(_unix_seconds(values["timestamp"], "Mailgun timestamp"), now, tolerance, "Mailgun timestamp")
    provided = _unhex(values["signature"])
    if provided is None:
        raise SignatureError("Mailgun signature is not hex")
    message = (values["timestamp"] + values["token"]).encode("utf-8")
    expected = [_hmac(s.encode("utf-8"), message, "sha256") for s in secrets]
    if not _any_match(expected, [provided]):
        raise SignatureError("signature does not match")
    return values["token"]


# ---------------------------------------------------------------- replays of native signatures


def signed_content(kind: str, headers: Mapping[str, str], body: bytes) -> bytes | None:
    """The bytes a platform's own signature covers (None for kinds without one, or if a header is
    missing). A request whose signed bytes were seen before is a replay, whatever unsigned
    delivery id it carries: Zendesk and Chatwoot sign a timestamp (so only within the window),
    Intercom signs the body alone (so at any time)."""
    h = _lower(headers)
    try:
        if kind == "zendesk":
            return _zendesk_message(_header(h, ZENDESK_TIMESTAMP), body)
        if kind == "chatwoot":
            return _chatwoot_message(_header(h, CHATWOOT_TIMESTAMP), body)
    except SignatureError:
        return None
    if kind == "intercom":
        return body
    return None


def replay_key(kind: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """A delivery id for what the platform's own signature covers: `signed:<kind>:sha256:<hex>`."""
    content = signed_content(kind, headers, body)
    if content is None:
        return None
    return f"signed:{kind}:sha256:" + hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------- by adapter kind

HeaderVerifier = Callable[[Sequence[str], Mapping[str, str], bytes, datetime, timedelta], Any]

#: The header-signed scheme each adapter kind's platform uses. Kinds absent here (freshdesk,
#: groove, front) have no scheme implemented: protect those endpoints another way (a secret
#: URL token or basic auth), or relay them through something that signs Standard Webhooks.
SCHEMES: dict[str, HeaderVerifier] = {
    "generic": verify_standard,
    "zendesk": verify_zendesk,
    "chatwoot": verify_chatwoot,
    "intercom": verify_intercom,
}
