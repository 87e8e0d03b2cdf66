"""The pure rules of outbound deliveries: retry schedule, address classification, message text, signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from services.escalation.domain import deliveries as rules

POLICY = rules.RetryPolicy(base_s=5, cap_s=3600, max_age_s=86400, max_attempts=50)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [(1, 5), (2, 10), (3, 20), (4, 40), (10, 2560), (11, 3600), (30, 3600), (10_000, 3600)],
)
def test_backoff_is_full_jitter_under_an_exponential_ceiling_capped(attempts: int, ceiling: float) -> None:
    assert rules.backoff_s(attempts, POLICY, 0.0) == 0.0
    assert rules.backoff_s(attempts, POLICY, 0.5) == pytest.approx(ceiling / 2)
    assert rules.backoff_s(attempts, POLICY, 0.999999) == pytest.approx(ceiling, rel=1e-5)
    assert rules.backoff_s(attempts, POLICY, 0.999999) < ceiling


@pytest.mark.parametrize("rand", [-1.0, 1.5])
def test_a_draw_out_of_range_is_clamped(rand: float) -> None:
    assert 0 <= rules.backoff_s(3, POLICY, rand) <= 20


def test_a_retry_is_scheduled_inside_the_jitter_window() -> None:
    at = rules.next_attempt_at(3, T0, T0 + timedelta(minutes=1), POLICY, 0.25)
    assert at == T0 + timedelta(minutes=1, seconds=5)


def test_no_retry_after_the_last_attempt() -> None:
    assert rules.next_attempt_at(50, T0, T0, POLICY, 0.0) is None
    assert rules.next_attempt_at(49, T0, T0, POLICY, 0.0) == T0


def test_no_retry_past_the_max_age() -> None:
    late = T0 + timedelta(hours=23, minutes=59)
    assert rules.next_attempt_at(20, T0, late, POLICY, 0.0) == late  # a zero wait still fits
    assert rules.next_attempt_at(20, T0, late, POLICY, 0.9) is None  # 54 minutes would not


@pytest.mark.parametrize(
    ("status", "ok"), [(200, True), (204, True), (299, True), (301, False), (500, False), (None, False)]
)
def test_only_2xx_counts_as_delivered(status: int | None, ok: bool) -> None:
    assert rules.delivered(status) is ok


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("not-an-ip", "unparseable"),
    ],
)
def test_non_public_addresses_are_classified(address: str, kind: str) -> None:
    assert rules.address_kind(address) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert rules.address_kind(address) is None


def test_a_host_is_refused_if_any_of_its_addresses_is_not_public() -> None:
    assert rules.target_refusal("hooks.example", ["93.184.216.34"]) is None
    refusal = rules.target_refusal("hooks.example", ["93.184.216.34", "10.0.0.7"])
    assert refusal == "hooks.example resolves to 10.0.0.7, a private address; deliveries go to public addresses only"
    assert str(rules.target_refusal("127.0.0.1", ["127.0.0.1"])).startswith("127.0.0.1 is a loopback address")
    assert str(rules.target_refusal("[::1]", ["::1"])).startswith("::1 is a loopback address")
    assert "does not resolve" in str(rules.target_refusal("nowhere.invalid", []))


def test_pick_respects_the_free_slots_and_each_hosts_limit() -> None:
    candidates = [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c"), ("b2", "b")]
    assert rules.pick(candidates, {"a": 1}, per_host=2, free=10) == ["a1", "b1", "c1", "b2"]
    assert rules.pick(candidates, {}, per_host=2, free=3) == ["a1", "a2", "b1"]
    assert rules.pick(candidates, {"a": 2, "b": 2, "c": 2}, per_host=2, free=10) == []


ENVELOPE = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/switchboard/sla",
    "type": "switchboard.sla.breached",
    "subject": "t-1",
    "data": {"ticket_id": "t-1", "reference": "SB-1042", "priority": "urgent", "queue": "billing", "body": "x\ny"},
}


def test_the_slack_text_is_one_readable_line() -> None:
    text = rules.slack_body("switchboard.sla.breached", ENVELOPE)["text"]
    assert text == "switchboard.sla.breached for ticket SB-1042 (priority urgent, queue billing)"


def test_the_slack_text_of_a_plain_payload_names_subject_and_reason() -> None:
    payload = {"ticket_id": "t-9", "subject": "Refund\nplease", "level": 2, "reason": "no answer in 30 min"}
    text = rules.summary("switchboard.escalation.requested", payload)
    assert (
        text == 'switchboard.escalation.requested for ticket t-9: "Refund please" (level 2, reason no answer in 30 min)'
    )
    assert "\n" not in text


def test_the_slack_text_is_bounded() -> None:
    text = rules.summary("x", {"ticket_id": "t", "reason": "y" * 5000})
    assert len(text) == 500 and text.endswith("…")


def test_the_email_has_a_subject_a_text_body_and_a_stable_message_id() -> None:
    assert rules.email_subject("switchboard.sla.breached", ENVELOPE).startswith(
        "[Switchboard] switchboard.sla.breached"
    )
    body = rules.email_text("switchboard.sla.breached", ENVELOPE)
    assert "reference: SB-1042" in body and "body: x y" in body
    assert rules.message_id("d-1", "mail.example") == "<d-1@mail.example>"


SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_our_signature_verifies_with_the_reference_library() -> None:
    body = rules.webhook_body(ENVELOPE)
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.signature(SECRET, "msg_1", timestamp, body),
    }
    assert Webhook(SECRET).verify(body, headers) == ENVELOPE


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (SECRET, None),
        ("whsec_" + base64.b64encode(b"k" * 8).decode(), "decodes to 8 bytes; use 24 to 64 random bytes"),
        ("whsec_!!!", "is not valid base64 after whsec_"),
        ("plain-secret", "must be whsec_"),
    ],
)
def test_subscription_secrets_must_be_whsec_base64(secret: str, problem: str | None) -> None:
    found = rules.secret_problem(secret)
    assert found == problem if problem is None else found and found.startswith(problem)


def test_errors_are_one_short_line() -> None:
    assert rules.short_error("a\n  b\tc" + "x" * 1000) == ("a b c" + "x" * 1000)[: rules.MAX_ERROR_CHARS]
