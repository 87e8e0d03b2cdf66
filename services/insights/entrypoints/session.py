"""Dashboard sessions: a signed cookie naming an API key, and the dependency that accepts it or a key.

    principal: Principal = Depends(dashboard_or_key_principal)     # manager or admin, key or session

The cookie `sb_insights_session` is `v1.<key id>.<expires>.<mac>`: it names the key (its id, never
the secret) and when the session ends. The MAC is HMAC-SHA256 under the process's session secret
(`DASHBOARD_SESSION_SECRET`, or a random one per process when unset: sessions then end when the
process restarts, and replicas need the setting) over the id, the expiry *and the key's stored hash*.
So a session dies with its key: a revoked key has no active row, and a changed bootstrap key has
another hash. Logging out clears the cookie; a copied cookie stays valid until it expires.

The cookie is HttpOnly (scripts cannot read it), SameSite=Strict (no other site's page sends it)
and Secure behind HTTPS. It authorises reading only: the dependency is meant for GET routes. The
OpenAPI document names only the three ways to send a key: the cookie is the dashboard page's, and
Swagger UI could not set it anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from fastapi import Request, Security
from pydantic import SecretStr
from sqlalchemy import select
from starlette.requests import HTTPConnection
from starlette.responses import Response

from shared.auth.keys import Principal, hash_key
from shared.auth.web import BOOTSTRAP, documented_key, presented_key, require
from shared.runtime import Runtime
from shared.web.problems import Problem

COOKIE = "sb_insights_session"
ROLES = ("manager",)  # and admin, who passes every role check
DEFAULT_TTL = timedelta(hours=8)
_VERSION = "v1"
_SECRET = "dashboard_session_secret"


def _runtime(connection: HTTPConnection) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


def _secret(runtime: Runtime) -> bytes:
    """The configured session secret, else one drawn once for this process."""
    if _SECRET not in runtime.extensions:
        # read by name: the setting is optional, and a service without it still gets sessions
        configured = getattr(runtime.settings, _SECRET, None)
        value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
        runtime.extensions[_SECRET] = str(value).encode() if value else secrets.token_bytes(32)
    secret: bytes = runtime.extensions[_SECRET]
    return secret


def _ttl(runtime: Runtime) -> timedelta:
    hours = getattr(runtime.settings, "dashboard_session_hours", None)
    return timedelta(hours=float(hours)) if hours else DEFAULT_TTL


def _mac(secret: bytes, key_id: str, expires: int, key_hash: str) -> str:
    message = f"{_VERSION}\n{key_id}\n{expires}\n{key_hash}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


async def _key_hash(runtime: Runtime, key_id: str) -> tuple[Principal, str] | None:
    """The principal and stored hash of the active key `key_id` (the bootstrap key while it is configured)."""
    if key_id == BOOTSTRAP.key_id:
        bootstrap = runtime.settings.bootstrap_admin_key
        return (BOOTSTRAP, hash_key(bootstrap)) if bootstrap else None
    table = runtime.definition.api_keys
    if table is None:
        return None
    query = select(table).where(table.c.key_id == key_id, table.c.revoked_at.is_(None))
    async with runtime.sessionmaker() as session:
        row = (await session.execute(query)).mappings().first()
    if row is None:
        return None
    principal = Principal(
        key_id=row["key_id"], role=row["role"], name=row["name"], agent_id=row["agent_id"], source=row["source"]
    )
    return principal, row["key_hash"]


def may_use_dashboard(principal: Principal) -> bool:
    return principal.role == "admin" or principal.role in ROLES


def issue(runtime: Runtime, principal: Principal, secret_key: str) -> tuple[str, datetime]:
    """The cookie value for a session of `principal`, whose key is `secret_key`, and when it ends."""
    ends = runtime.clock.now() + _ttl(runtime)
    expires = int(ends.timestamp())
    mac = _mac(_secret(runtime), principal.key_id, expires, hash_key(secret_key))
    return f"{_VERSION}.{_b64(principal.key_id)}.{expires}.{mac}", ends


async def session_principal(connection: HTTPConnection) -> Principal | None:
    """Whose dashboard session the request's cookie is; None if it has none, or a forged, expired or dead one."""
    value = connection.cookies.get(COOKIE)
    if not value:
        return None
    try:
        version, encoded_id, expires_text, mac = value.split(".")
        key_id, expires = _unb64(encoded_id), int(expires_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    runtime = _runtime(connection)
    if version != _VERSION or expires <= runtime.clock.now().timestamp():
        return None
    found = await _key_hash(runtime, key_id)
    if found is None:
        return None
    principal, key_hash = found
    if not hmac.compare_digest(mac, _mac(_secret(runtime), key_id, expires, key_hash)):
        return None
    return principal if may_use_dashboard(principal) else None


def set_cookie(response: Response, request: Request, value: str, ends: datetime) -> None:
    response.set_cookie(
        COOKIE,
        value,
        expires=ends,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")


def dashboard_or_key(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's API key (any of `roles`, or admin) or, with no key, a dashboard session."""
    by_key = require(*roles)
    allowed = ["admin", *roles]

    async def dependency(
        request: Request,
        _keys: None = Security(documented_key, scopes=allowed),
    ) -> Principal:
        if presented_key(request) is None and COOKIE in request.cookies:
            principal = await session_principal(request)
            if principal is None:
                raise Problem(
                    401,
                    "the dashboard session has ended or is not valid: log in again at /dashboard/login, or send an API key",
                    title="Unauthorized",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if principal.role != "admin" and principal.role not in roles:
                raise Problem(403, f"role {principal.role!r} may not do this; allowed: {', '.join(allowed)}")
            request.state.principal = principal
            return principal
        return await by_key(request)

    return dependency


dashboard_or_key_principal = dashboard_or_key(*ROLES)
