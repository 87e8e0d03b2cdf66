"""Real local receivers for outbound deliveries: an HTTP server on a socket and an aiosmtpd SMTP server.

    async with http_receiver(statuses=[500, 500]) as receiver:   # 500 twice, then 200
        ... receiver.url ... await receiver.received(3)

The HTTP server speaks enough HTTP/1.1 for httpx (Content-Length bodies, keep-alive), records
each request's headers and body, answers the scripted statuses in turn (then `default_status`)
and may hang for `delay_s` before answering, as a slow subscriber does.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from shared.stack.ports import free_port
from tests.support.kafka import eventually


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request was read in full


@dataclass
class HttpReceiver:
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def received(self, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Wait until `count` requests have come in."""
        await eventually(lambda: len(self.requests) >= count, timeout=timeout, interval=0.05)
        return self.requests

    async def carrying(self, text: str, timeout: float = 30.0) -> list[Received]:
        """Wait until a request whose body contains `text` has come in; every such request."""

        def found() -> list[Received]:
            return [r for r in self.requests if text.encode() in r.body]

        return await eventually(found, timeout=timeout, interval=0.05)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while request := await _read_request(reader):
                self.requests.append(request)
                status = self.statuses.pop(0) if self.statuses else self.default_status
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method, path, headers, body, time.monotonic())


@contextlib.asynccontextmanager
async def http_receiver(
    statuses: Iterable[int] = (), *, default_status: int = 200, delay_s: float = 0.0
) -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(list(statuses), default_status, delay_s)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def dead_url() -> str:
    """A URL nothing listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/hook"


class MailSink:
    """What the SMTP server was handed: (recipients, parsed message) per mail."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Controller, MailSink]]:
    """A real SMTP server (aiosmtpd) on a free local port, in its own thread."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()
