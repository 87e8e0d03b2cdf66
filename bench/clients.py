"""Small HTTP/1.1 and SMTP clients over asyncio streams with persistent connections.

The load generator shares two cores with the system it measures, so each request must cost it
little: these clients do no more than write the request and read the status and the body (about a
tenth of an httpx request's CPU), which keeps the generator on its schedule at the rates tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from email.message import EmailMessage

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
STALE_S = 3.0  # uvicorn closes a keep-alive connection idle for 5 s; one idle this long is not reused


class _Pool:
    """Up to `size` connections to host:port, reused; a caller waits when all are busy."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[Connection, float]] = []
        self._slots = asyncio.Semaphore(size)

    async def _open(self) -> Connection:
        return await asyncio.open_connection(self.host, self.port)

    async def _acquire(self) -> tuple[Connection, bool]:
        """A connection, and whether it was used before (then the server may have closed it meanwhile)."""
        await self._slots.acquire()
        while self._idle:
            conn, since = self._idle.pop()
            if time.monotonic() - since < STALE_S:
                return conn, True
            conn[1].close()
        try:
            return await self._open(), False
        except BaseException:
            self._slots.release()
            raise

    def _release(self, conn: Connection | None) -> None:
        if conn is not None:
            self._idle.append((conn, time.monotonic()))
        self._slots.release()

    async def close(self) -> None:
        for (_, writer), _ in self._idle:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        self._idle.clear()


class HttpPool(_Pool):
    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one request; a connection the server closes is dropped, not reused, and a
        reused one that turns out closed is replaced once (the routes used are safe to repeat)."""
        try:
            return await self._request(method, path, body, headers, retry=True)
        except _Stale:
            return await self._request(method, path, body, headers, retry=False)

    async def _request(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str] | None, *, retry: bool
    ) -> tuple[int, bytes]:
        conn, reused = await self._acquire()
        keep: Connection | None = None
        try:
            reader, writer = conn
            head = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                if reused and retry and not getattr(exc, "partial", b""):
                    raise _Stale from exc
                raise
            status, length, close = _parse_head(raw)
            payload = await reader.readexactly(length) if length else b""
            if close:
                writer.close()
            else:
                keep = conn
            return status, payload
        except BaseException:
            conn[1].close()
            raise
        finally:
            self._release(keep)


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


def _parse_head(raw: bytes) -> tuple[int, int, bool]:
    """Status code, content length and whether the server closes the connection, from a response head."""
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            close = True
        elif name == "transfer-encoding":
            raise ValueError("chunked responses are not expected from these routes")
    return status, length, close


class SmtpPool(_Pool):
    async def _open(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        await _reply(reader)  # 220 greeting
        writer.write(b"EHLO bench.example\r\n")
        await _reply(reader)
        return reader, writer

    async def send(self, message: EmailMessage) -> int:
        """The final reply code of one mail (250 once ingest has committed it)."""
        conn, _ = await self._acquire()
        keep: Connection | None = None
        try:
            reader, writer = conn
            data = message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            data = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in data.split(b"\r\n"))
            for command in (f"MAIL FROM:<{message['From']}>", f"RCPT TO:<{message['To']}>", "DATA"):
                writer.write(command.encode() + b"\r\n")
                code = await _reply(reader)
                if code >= 400:
                    writer.write(b"RSET\r\n")
                    await _reply(reader)
                    keep = conn
                    return code
            writer.write(data + b"\r\n.\r\n")
            code = await _reply(reader)
            keep = conn
            return code
        except BaseException:
            conn[1].close()
            raise
        finally:
            self._release(keep)


async def _reply(reader: asyncio.StreamReader) -> int:
    """The code of one (possibly multi-line) SMTP reply."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("the SMTP server closed the connection")
        if line[3:4] != b"-":
            return int(line[:3])
