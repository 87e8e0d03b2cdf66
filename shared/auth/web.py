"""FastAPI dependencies: who is calling, and may they?

    principal: Principal = Depends(require("admin", "agent"))

Keys come as `Authorization: Bearer <key>`, `X-Api-Key: <key>`, or HTTP Basic with the key as
the password (`https://any:KEY@host/...`, for senders that can only put credentials in the
URL, such as SendGrid's and Postmark's inbound webhooks). Admins pass every role
check. BOOTSTRAP_ADMIN_KEY (a setting) is accepted as admin without a table row, so a fresh
installation can issue its first keys.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.auth.keys import Principal, hash_key
from shared.auth.store import find_active
from shared.web.problems import Problem

BOOTSTRAP = Principal(key_id="bootstrap", role="admin", name="bootstrap admin key")


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
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
    return request.headers.get("x-api-key") or None


async def authenticate(request: Request) -> Principal:
    secret = presented_key(request)
    if not secret:
        raise Problem(
            401,
            "an API key is required: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
            title="Unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    runtime = request.app.state.runtime
    bootstrap = runtime.settings.bootstrap_admin_key
    if bootstrap and hmac.compare_digest(secret.encode(), bootstrap.encode()):
        return BOOTSTRAP
    table = runtime.definition.api_keys
    async with runtime.sessionmaker() as session:
        principal = await find_active(session, table, hash_key(secret)) if table is not None else None
    if principal is None:
        raise Problem(401, "unknown or revoked API key", title="Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role != "admin" and principal.role not in roles:
            raise Problem(
                403,
                f"role {principal.role!r} may not do this; allowed: {', '.join(('admin', *roles))}",
                title="Forbidden",
            )
        request.state.principal = principal
        return principal

    return dependency
