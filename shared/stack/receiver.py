"""A small local webhook receiver for the demo: `make up` runs it so escalation pages have somewhere to go.

Each POST is appended to the log file as one JSON line (when it came, the path, the Standard
Webhooks headers, whether the signature verifies with `secret`, and the body) and answered 204;
a GET says how many it has logged. It runs in a thread of the `make up` process, on loopback:
it is a demo's sink, not a service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shared.stack.ports import StackError

MAX_BODY_BYTES = 1024 * 1024


def signature_verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether any `v1,` signature in `webhook-signature` signs `id.timestamp.body` with the `whsec_` secret."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part[3:] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class WebhookReceiver:
    """Appends every delivery to `log_path`; `secret` (settable later) is what signatures are checked with."""

    def __init__(self, host: str, port: int, log_path: Path, secret: str | None = None) -> None:
        self.host, self.port, self.log_path, self.secret = host, port, log_path, secret
        self.count = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/switchboard"

    def start(self) -> WebhookReceiver:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        except OSError as exc:
            raise StackError(f"the demo webhook receiver cannot listen on {self.host}:{self.port}: {exc}") from exc
        self.port = self._server.server_address[1]  # port 0: the one the system chose
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        entry: dict[str, Any] = {
            "received_at": datetime.now(UTC).isoformat(),
            "path": path,
            **{k: headers[k] for k in ("webhook-id", "webhook-timestamp") if k in headers},
            "verified": signature_verifies(self.secret, headers, body) if self.secret else None,
            "body": _body(body),
        }
        with self._lock, self.log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")
            self.count += 1


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            receiver.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            text = f"switchboard demo webhook receiver: {receiver.count} deliveries in {receiver.log_path}\n"
            payload = text.encode()
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # the log file is the record, not stderr
            return

    return Handler
