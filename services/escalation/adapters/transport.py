"""The network side of deliveries: where a target is, whether it may be reached, and sending to it.

Every send is bounded by one deadline (`timeout_s`) covering connect, TLS, request and answer, so
a subscriber that accepts the connection and never answers costs one slot for that long only.
Redirects are never followed: a public URL must not bounce a delivery onto an internal address.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpx

from services.escalation.domain.deliveries import target_refusal
from services.escalation.settings import EscalationSettings

_RESOLVE_TIMEOUT_S = 3.0
USER_AGENT = "Switchboard-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    """What one attempt got: an HTTP status (None when there was no answer) or an error, and how long it took."""

    status: int | None
    error: str | None
    latency_ms: int


def host_of(channel: str, target: str) -> str:
    """Whom a target's deliveries go to, lower-cased: `host` or `host:port` (a mail's: its domain).

    Per-subscriber concurrency is counted on it, so two receivers on one machine are two subscribers.
    """
    if channel == "email":
        return target.rpartition("@")[2].strip().lower() or "?"
    try:
        parts = urlsplit(target)
        host, port = (parts.hostname or "?").lower(), parts.port
    except ValueError:
        return "?"
    return f"{host}:{port}" if port else host


def url_problem(url: str) -> str | None:
    """What makes `url` unusable as a webhook target (scheme, host, port), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "port 0 cannot be connected to"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal: itself); empty when it does not resolve in time."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=_RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def target_problem(url: str, *, allow_private: bool) -> str | None:
    """Why deliveries may not go to `url`: a bad URL, or a host on a non-public address (SSRF guard)."""
    if (problem := url_problem(url)) is not None:
        return problem
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    return target_refusal(host, await resolve(host, parts.port or (443 if parts.scheme == "https" else 80)))


class HttpSender:
    """POSTs bodies with one shared connection pool; never raises for an HTTP or network failure."""

    def __init__(self, *, timeout_s: float, max_connections: int) -> None:
        self._timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"user-agent": USER_AGENT},
            trust_env=False,
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.post(url, content=body, headers=headers)
            status, error = response.status_code, None if response.is_success else f"HTTP {response.status_code}"
        except TimeoutError:
            status, error = None, f"no answer within {self._timeout_s:g} s"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Answer(status, error, round((time.perf_counter() - started) * 1000))

    async def close(self) -> None:
        await self._client.aclose()


def compose_mail(*, sender: str, to: str, subject: str, text: str, message_id: str, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Message-ID"] = message_id
    mail["Date"] = format_datetime(now)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notification
    mail["X-Switchboard-Loop"] = "escalation"  # ingest drops mail carrying it: never a ticket from our own alert
    mail.set_content(text)
    return mail


def _send_mail(settings: EscalationSettings, mail: EmailMessage) -> None:
    assert settings.smtp_relay_host
    with smtplib.SMTP(settings.smtp_relay_host, settings.smtp_relay_port, timeout=settings.delivery_timeout_s) as smtp:
        if settings.smtp_relay_starttls:
            smtp.starttls()
        if settings.smtp_relay_username:
            smtp.login(settings.smtp_relay_username, settings.smtp_relay_password or "")
        smtp.send_message(mail)


async def send_mail(settings: EscalationSettings, mail: EmailMessage) -> Answer:
    """Hand `mail` to the relay (in a thread: smtplib blocks); 250 counts as status 250."""
    started = time.perf_counter()
    try:
        await asyncio.to_thread(_send_mail, settings, mail)
        status, error = 250, None
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        status, error = None, f"SMTP {exc.smtp_code}: {said}"
    except (OSError, smtplib.SMTPException) as exc:
        status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Answer(status, error, round((time.perf_counter() - started) * 1000))
