"""Credentials never reach a log line: our API keys, webhook secrets, Authorization values, URL passwords.

`redact` rewrites text; `redact_event` is the structlog processor that applies it to every
record, stdlib ones included (uvicorn's lines carry the WebSocket's `?api_key=`), after the
exception has been formatted, so tracebacks and database error messages are covered too.
"""

from __future__ import annotations

import re
from typing import Any

from structlog.typing import EventDict

REDACTED = "[redacted]"
# field names whose whole value is a credential, whatever it looks like
SENSITIVE_FIELDS = frozenset(
    {"api_key", "authorization", "cookie", "password", "secret", "secrets", "signature", "token", "webhook_secret"}
)
QUERY_NAMES = ("api_key", "access_token", "key", "token", "secret", "signature", "password")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # our API keys: sb_<role>_<random> (shared.auth.keys.generate_secret); the role is worth keeping
    (re.compile(r"\b(sb_[a-z]+_)[A-Za-z0-9_\-]{6,}"), rf"\1{REDACTED}"),
    # Standard Webhooks secrets
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), f"whsec_{REDACTED}"),
    # Authorization header values
    (re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=\-]{4,}", re.IGNORECASE), rf"\1\2{REDACTED}"),
    # query-string values of credential-like names: ?api_key=..., &token=...
    (re.compile(rf"([?&;](?:{'|'.join(QUERY_NAMES)})=)[^&;\s\"'#]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # the password in a URL: postgresql://user:password@host, https://any:KEY@host
    (re.compile(r"(://[^/\s:@]*:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)
_MAX_NESTING = 6


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, _depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if _depth >= _MAX_NESTING:
        return value
    if isinstance(value, dict):
        return {key: REDACTED if _sensitive(key) else redact_value(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item, _depth + 1) for item in value)
    return value


def redact_event(_logger: object, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: every field of the record, the message and formatted exception included."""
    redacted: EventDict = redact_value(dict(event_dict))
    return redacted


def _sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_FIELDS
