"""FastAPI dependencies: who is calling, and may they?

    principal: Principal = Depends(require("admin", "agent"))

Keys come as `Authorization: Bearer <key>`, `X-Api-Key: <key>`, or HTTP Basic with the key as
the password (`https://any:KEY@host/...`, for senders that can only put credentials in the
URL, such as SendGrid's and Postmark's inbound webhooks). Admins pass every role
check. BOOTSTRAP_ADMIN_KEY (a setting) is accepted as admin without a table row, so a fresh
installation can issue its first keys.

`require` also declares those three ways as OpenAPI security schemes (the roles it allows as
each requirement's list, as OpenAPI 3.1 permits for non-OAuth schemes), so `/docs` offers
"Authorize"; the declaring dependencies read nothing and never refuse: `presented_key` decides.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request, Security
from fastapi.openapi.models import APIKey, HTTPBase, HTTPBearer
from fastapi.openapi.models import SecurityBase as SecuritySchemeModel
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from shared.auth.keys import Principal, hash_key
from shared.auth.store import find_active
from shared.db import autocommit
from shared.web.problems import Problem

BOOTSTRAP = Principal(key_id="bootstrap", role="admin", name="bootstrap admin key")


class DocumentedScheme(SecurityBase):
    """One way to send an API key, as an OpenAPI security scheme; as a dependency it does nothing."""

    def __init__(self, name: str, model: SecuritySchemeModel) -> None:
        self.scheme_name = name
        self.model = model

    async def __call__(self) -> None:
        return None


BEARER = DocumentedScheme("bearer", HTTPBearer(description="`Authorization: Bearer <key>`"))
API_KEY_HEADER = DocumentedScheme(
    "apiKey", APIKey.model_validate({"in": "header", "name": "X-Api-Key", "description": "`X-Api-Key: <key>`"})
)
BASIC = DocumentedScheme(
    "basic",
    HTTPBase(
        scheme="basic",
        description="HTTP Basic with the key as the password (any user name), e.g. `https://any:KEY@host/...`",
    ),
)
KEY_SCHEMES = (BEARER, API_KEY_HEADER, BASIC)


async def documented_key(
    _bearer: None = Depends(BEARER), _api_key: None = Depends(API_KEY_HEADER), _basic: None = Depends(BASIC)
) -> None:
    """The three schemes, any one of which carries the key; `Security(documented_key, scopes=roles)` names roles."""


def presented_key(connection: HTTPConnection) -> str | None:
    """The key a request or a WebSocket handshake carries, in any of the accepted headers."""
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user = password = ""
        # the password is the key; `https://KEY@host/` (no password) puts it in the user name
        if secret := (password or user).strip():
            return secret
    return connection.headers.get("x-api-key") or None


async def authenticate(request: Request) -> Principal:
    secret = presented_key(request)
    if not secret:
        raise Problem(
            401,
            "an API key is required: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
            title="Unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return await principal_for_key(request, secret)


async def principal_for_key(connection: HTTPConnection, secret: str) -> Principal:
    """Whose key `secret` is (the bootstrap admin key, or an active row of the key table); 401 otherwise."""
    runtime = connection.app.state.runtime
    bootstrap = runtime.settings.bootstrap_admin_key
    if bootstrap and hmac.compare_digest(secret.encode(), bootstrap.encode()):
        return BOOTSTRAP
    table = runtime.definition.api_keys
    principal = None
    if table is not None:
        # one statement on its own: no BEGIN and ROLLBACK round trips around it on every request
        async with autocommit(runtime.engine) as conn:
            principal = await find_active(conn, table, hash_key(secret))
    if principal is None:
        raise Problem(401, "unknown or revoked API key", title="Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    allowed = ["admin", *roles]

    async def dependency(request: Request, _schemes: None = Security(documented_key, scopes=allowed)) -> Principal:
        principal = await authenticate(request)
        if principal.role != "admin" and principal.role not in roles:
            raise Problem(
                403,
                f"role {principal.role!r} may not do this; allowed: {', '.join(allowed)}",
                title="Forbidden",
            )
        request.state.principal = principal
        return principal

    return dependency
