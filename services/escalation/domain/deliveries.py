"""Pure rules of outbound deliveries: when to retry, which addresses are off limits, what a message says.

Nothing here reads a clock, draws a random number or touches the network: callers pass `now`,
the jitter draw (`rand` in [0, 1)) and the addresses a host resolved to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.events import topics

Channel = Literal["webhook", "slack", "email"]
State = Literal["pending", "delivering", "delivered", "failed"]
CHANNELS: tuple[Channel, ...] = ("webhook", "slack", "email")
STATES: tuple[State, ...] = ("pending", "delivering", "delivered", "failed")
WHSEC_PREFIX = "whsec_"
MAX_ERROR_CHARS = 300
_SLACK_MAX_CHARS = 500
# the payload fields a one-line summary names, in this order
_SUMMARY_FIELDS = ("level", "priority", "queue", "agent_id", "new_status", "policy_id", "reason")
# never fanned out to webhooks: access events carry API key hashes, dead letters raw bytes of anything
WITHHELD_TOPICS: dict[str, str] = {
    topics.ACCESS: "carries API key hashes",
    topics.DEAD_LETTERS: "carries the raw bytes of any message",
}


def fanned_out_topics() -> tuple[str, ...]:
    """The topics whose events webhook subscriptions may receive."""
    return tuple(t for t in topics.ALL_TOPICS if t not in WITHHELD_TOPICS)


def withheld_because(topic: str) -> str | None:
    """Why events on `topic` are never sent to a subscription, or None when they are."""
    return WITHHELD_TOPICS.get(topic)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a number of attempts and an age."""

    base_s: float = 5.0
    cap_s: float = 3600.0
    max_age_s: float = 86400.0
    max_attempts: int = 50


def backoff_s(attempts: int, policy: RetryPolicy, rand: float) -> float:
    """The wait after the `attempts`-th failed attempt: uniform in [0, min(cap, base * 2^(attempts-1)))."""
    exponent = min(max(attempts - 1, 0), 62)  # 2**62 * base is past any cap; keeps the float finite
    return max(0.0, min(rand, 1.0)) * min(policy.cap_s, policy.base_s * 2.0**exponent)


def next_attempt_at(
    attempts: int, created_at: datetime, now: datetime, policy: RetryPolicy, rand: float
) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None: the delivery has failed for good."""
    if attempts >= policy.max_attempts:
        return None
    at = now + timedelta(seconds=backoff_s(attempts, policy, rand))
    if at > created_at + timedelta(seconds=policy.max_age_s):
        return None
    return at


def delivered(status: int | None) -> bool:
    """2xx is delivered; anything else (and no answer at all) is retried."""
    return status is not None and 200 <= status < 300


def short_error(text: str) -> str:
    """An error fit for `last_error` and the attempt log: one line, bounded."""
    return " ".join(text.split())[:MAX_ERROR_CHARS]


def pick(candidates: list[tuple[str, str]], in_flight: Mapping[str, int], *, per_host: int, free: int) -> list[str]:
    """Which due (id, host) candidates to send now: in order, at most `free`, none past a host's limit."""
    taken: dict[str, int] = {}
    chosen: list[str] = []
    for delivery_id, host in candidates:
        if len(chosen) >= free:
            break
        if in_flight.get(host, 0) + taken.get(host, 0) < per_host:
            taken[host] = taken.get(host, 0) + 1
            chosen.append(delivery_id)
    return chosen


# ---------------------------------------------------------------- where deliveries may go


def address_kind(address: str) -> str | None:
    """The kind of non-public address `address` is (loopback, private, ...), or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
    except ValueError:
        return "unparseable"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return kind
    return None


def target_refusal(host: str, addresses: list[str]) -> str | None:
    """Why `host` (resolved to `addresses`) may not receive deliveries: one non-public address refuses it."""
    if not addresses:
        return f"host {host} does not resolve to any address"
    for address in addresses:
        if (kind := address_kind(address)) is not None:
            where = f"{address} is" if address == host.strip("[]") else f"{host} resolves to {address},"
            return f"{where} a {kind} address; deliveries go to public addresses only"
    return None


# ---------------------------------------------------------------- signatures (Standard Webhooks v1)


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (as the Standard Webhooks libraries decode it)."""
    encoded = secret[len(WHSEC_PREFIX) :] if secret.startswith(WHSEC_PREFIX) else secret
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def secret_problem(secret: str) -> str | None:
    """What is wrong with a subscription secret, or None."""
    if not secret.startswith(WHSEC_PREFIX):
        return "must be whsec_ followed by base64 (24 to 64 random bytes); leave it out to have one generated"
    try:
        key = secret_key(secret)
    except ValueError:
        return "is not valid base64 after whsec_"
    if not 24 <= len(key) <= 64:
        return f"decodes to {len(key)} bytes; use 24 to 64 random bytes"
    return None


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), message, hashlib.sha256).digest()).decode()


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- what people read (Slack, email)


def _data_of(payload: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents envelope's `data`, or the payload itself when it is a plain object."""
    data = payload.get("data")
    if isinstance(data, dict) and "specversion" in payload:
        return data
    return payload


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def summary(event_type: str, payload: dict[str, Any]) -> str:
    """A one-line sentence about the event: its type, the ticket, and the facts people look for first."""
    data = _data_of(payload)
    ticket = data.get("reference") or data.get("ticket_id") or payload.get("subject")
    head = _one_line(event_type) + (f" for ticket {_one_line(ticket)}" if ticket else "")
    subject = data.get("subject")
    if isinstance(subject, str) and subject.strip():
        head += f': "{_one_line(subject)[:120]}"'
    facts = [f"{name.replace('_', ' ')} {_one_line(data[name])}" for name in _SUMMARY_FIELDS if data.get(name)]
    text = head + (f" ({', '.join(facts)})" if facts else "")
    return text if len(text) <= _SLACK_MAX_CHARS else text[: _SLACK_MAX_CHARS - 1] + "…"


def slack_body(event_type: str, payload: dict[str, Any]) -> dict[str, str]:
    """The JSON an incoming-webhook URL takes: `{"text": ...}`."""
    return {"text": summary(event_type, payload)}


def email_subject(event_type: str, payload: dict[str, Any]) -> str:
    return "[Switchboard] " + summary(event_type, payload)[:200]


def email_text(event_type: str, payload: dict[str, Any]) -> str:
    """The plain-text body: the summary, then each scalar field of the event on its own line."""
    data = _data_of(payload)
    lines = [summary(event_type, payload), ""]
    for name, value in data.items():
        if isinstance(value, str | int | float | bool):
            lines.append(f"{name}: {_one_line(value)[:1000]}")
    return "\n".join(lines) + "\n"


def message_id(delivery_id: str, mail_domain: str) -> str:
    """The same Message-ID on every attempt, so a receiver can drop a repeat."""
    return f"<{delivery_id}@{mail_domain}>"
