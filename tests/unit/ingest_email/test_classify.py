"""automated_reason: machine mail is recognised, people's mail is not."""

from __future__ import annotations

import pytest

from services.ingest.email import automated_reason, parse_email

from .corpus import EMAILS, read, relative


def _mail(headers: str, body: str = "Hello, my printer is broken.\n") -> bytes:
    base = "From: Jane Doe <jane@example.com>\nTo: support@example.org\nSubject: Help\n"
    return (base + headers + "\n" + body).encode()


BOUNCES = sorted((EMAILS / "flanker" / "bounce").glob("*.eml"))
COMPLAINTS = sorted((EMAILS / "flanker" / "complaints").glob("*.eml"))


@pytest.mark.parametrize("path", BOUNCES, ids=[p.name for p in BOUNCES])
def test_flanker_bounces_are_automated(path) -> None:
    reason = automated_reason(parse_email(path.read_bytes()))
    assert reason is not None and reason.startswith("bounce:"), reason


@pytest.mark.parametrize("path", COMPLAINTS, ids=[p.name for p in COMPLAINTS])
def test_flanker_complaints_are_automated(path) -> None:
    assert automated_reason(parse_email(path.read_bytes())) == "complaint:feedback-report"


def test_the_flanker_folders_are_not_empty() -> None:
    assert len(BOUNCES) == 9 and len(COMPLAINTS) == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("chatwoot/auto_reply.eml", "auto_reply:x-autoreply"),
        ("chatwoot/auto_reply_with_auto_submitted.eml", "auto_submitted:auto-generated"),
        ("chatwoot/non_utf_encoded_mail.eml", "auto_submitted:auto-replied"),
        ("chatwoot/bounced_gmail.eml", "bounce:delivery-status"),
        ("chatwoot/bounced_with_no_from.eml", "bounce:delivery-status"),
        ("zammad/mail033-undelivered-mail-returned-to-sender.box", "bounce:delivery-status"),
        ("zammad/mail052.box", "bounce:null-return-path"),
        ("zammad/mail089.box", "auto_submitted:auto-generated"),
        ("znuny/Issue24.eml", "bounce:delivery-status"),
        ("znuny/PostMaster-Test10.box", "bounce:delivery-status"),
        ("flanker/edge-cases/disposition-notification.eml", "receipt:disposition-notification"),
        ("cpython/msg_32.eml", "precedence:bulk"),
    ],
)
def test_known_automated_fixtures(name: str, reason: str) -> None:
    assert automated_reason(parse_email(read(name))) == reason


def test_every_chatwoot_auto_reply_fixture_is_automated() -> None:
    names = [p for p in (EMAILS / "chatwoot").glob("*.eml") if "auto_reply" in p.name or "bounce" in p.name]
    assert len(names) == 4
    for path in names:
        assert automated_reason(parse_email(path.read_bytes())) is not None, relative(path)


@pytest.mark.parametrize(
    "name",
    [
        "chatwoot/support.eml",
        "chatwoot/only_text.eml",
        "chatwoot/reply_cc.eml",
        "chatwoot/mail_with_quote.eml",
        "chatwoot/only_html.eml",
        "zammad/mail005.box",
        "zammad/mail030.box",
        "django-helpdesk/quoted_printable.eml",
        "django-helpdesk/forwarded-message.eml",
        "znuny/PostMaster-Test1.box",
    ],
)
def test_customer_mail_is_not_automated(name: str) -> None:
    assert automated_reason(parse_email(read(name))) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("X-Switchboard-Loop: ticket-42\nAuto-Submitted: auto-replied\n", "loop:x-switchboard-loop"),
        ("Auto-Submitted: auto-replied\n", "auto_submitted:auto-replied"),
        ("Auto-Submitted: Auto-Generated; owner-email=x@y.z\n", "auto_submitted:auto-generated"),
        ("Auto-Submitted: auto-notified\n", "auto_submitted:auto-notified"),
        ("Precedence: bulk\n", "precedence:bulk"),
        ("Precedence: junk\n", "precedence:junk"),
        ("Precedence: list\n", "precedence:list"),
        ("Precedence: auto_reply\n", "precedence:auto_reply"),
        ("X-Autoreply: yes\n", "auto_reply:x-autoreply"),
        ("X-Autorespond: Out of office\n", "auto_reply:x-autorespond"),
        ("X-Auto-Response-Suppress: All\n", "auto_reply:x-auto-response-suppress"),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply\n", "auto_reply:x-auto-response-suppress"),
        ("List-Id: Product news <news.example.com>\n", "bulk:list-id"),
        ("List-Unsubscribe: <mailto:leave@example.com>\n", "bulk:list-unsubscribe"),
        ("Return-Path: <>\n", "bounce:null-return-path"),
        ("X-Failed-Recipients: gone@example.net\n", "bounce:x-failed-recipients"),
        (
            'MIME-Version: 1.0\nContent-Type: multipart/report; report-type="delivery-status"; boundary=b\n',
            "bounce:delivery-status",
        ),
        (
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; boundary=b\n",
            "complaint:feedback-report",
        ),
    ],
)
def test_header_signals(headers: str, reason: str) -> None:
    assert automated_reason(parse_email(_mail(headers))) == reason


@pytest.mark.parametrize(
    "headers",
    [
        "",
        "Auto-Submitted: no\n",
        "X-Auto-Response-Suppress: DR, RN, NRN\n",  # Outlook asks not to get receipts: a person wrote it
        "Precedence: first-class\n",
        "Return-Path: <jane@example.com>\n",
        "X-Autoreply: no\n",
    ],
)
def test_header_signals_that_do_not_count(headers: str) -> None:
    assert automated_reason(parse_email(_mail(headers))) is None


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.net", "postmaster@example.net", "Mailer-Daemon <MAILER-DAEMON>"]
)
def test_daemon_senders(sender: str) -> None:
    raw = f"From: {sender}\nSubject: Undelivered Mail\n\nThe mail could not be delivered.\n".encode()
    assert automated_reason(parse_email(raw)) in ("bounce:mailer-daemon", "bounce:postmaster")


def test_trusted_list_ids_let_a_support_group_through() -> None:
    """A Google Group used as support@ adds list headers to every customer mail."""
    headers = "List-Id: <support.example.org>\nList-Unsubscribe: <mailto:x@example.org>\nPrecedence: list\n"
    mail = parse_email(_mail(headers))
    assert automated_reason(mail) == "precedence:list"
    assert automated_reason(mail, trusted_list_ids=["support.example.org"]) is None
    assert automated_reason(mail, trusted_list_ids=["<other.example.org>"]) == "precedence:list"
    # Trust in a list does not hide an auto-reply sent through it.
    auto = parse_email(_mail(headers + "Auto-Submitted: auto-replied\n"))
    assert automated_reason(auto, trusted_list_ids=["support.example.org"]) == "auto_submitted:auto-replied"
