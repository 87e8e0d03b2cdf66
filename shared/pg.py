"""DATABASE_URL's TLS parameters as asyncpg's `ssl` argument, and raw asyncpg connections built with it.

Managed PostgreSQL hands out libpq URLs (`...?sslmode=verify-full&sslrootcert=/etc/ca.pem`). SQLAlchemy
passes every query parameter to `asyncpg.connect()` as a keyword, and asyncpg has no `sslmode` keyword,
so the services' engine would fail on such a URL. `split_tls` takes `sslmode` and `sslrootcert` off the
URL and turns them into `ssl=`; the engine (`shared.db.make_engine`), the migrations and every raw
connection here (`connect`: provisioning, LISTEN, replay, rebuild) go through it, so one URL means the
same thing on every path. Without `sslmode` nothing is passed and asyncpg follows PGSSLMODE (else
`prefer`), as libpq does. A value that cannot be honoured fails at start with a message naming
DATABASE_URL and never quoting it: it carries the password.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# the modes whose TLS is mandatory: with a CA they verify the server, and never fall back to plaintext
_MANDATORY = ("require", "verify-ca", "verify-full")


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used as written (the message names the parameter, never the URL)."""


def split_tls(url: str) -> tuple[str, dict[str, Any]]:
    """The URL without its TLS parameters, and the connect keywords (`ssl`) that carry them instead."""
    parsed = make_url(url)
    query = dict(parsed.query)
    # `ssl` is SQLAlchemy's own spelling for asyncpg; it means the same as sslmode here
    given: dict[str, str] = {}
    for key in ("sslmode", "ssl", "sslrootcert"):
        value = query.pop(key, None)
        if isinstance(value, tuple):
            raise DatabaseUrlError(f"DATABASE_URL: {key} is given {len(value)} times; give it once")
        if value is not None:
            given[key] = value
    if "sslmode" in given and "ssl" in given:
        raise DatabaseUrlError("DATABASE_URL: give sslmode or ssl, not both")
    name = "sslmode" if "sslmode" in given else "ssl"
    mode = given.get(name)
    stripped = parsed.set(query=query).render_as_string(hide_password=False)
    if mode is None:
        if "sslrootcert" in given:
            raise DatabaseUrlError("DATABASE_URL: sslrootcert needs sslmode=verify-full (or verify-ca, require)")
        return stripped, {}
    return stripped, {"ssl": ssl_argument(mode, given.get("sslrootcert"), name=name)}


def ssl_argument(mode: str, rootcert: str | None = None, *, name: str = "sslmode") -> str | ssl.SSLContext:
    """asyncpg's `ssl` for a libpq `sslmode` (and `sslrootcert`, the CA bundle to verify the server with)."""
    if mode not in SSLMODES:
        raise DatabaseUrlError(f"DATABASE_URL: {name}={mode[:40]!r} is not one of {', '.join(SSLMODES)}")
    if rootcert is None or mode not in _MANDATORY:
        # asyncpg's modes are libpq's: prefer and allow fall back to plaintext, require/verify-* read the
        # CA from PGSSLROOTCERT or ~/.postgresql/root.crt; below require there is nothing to verify
        return mode
    if rootcert == "system":
        if mode != "verify-full":
            raise DatabaseUrlError(f"DATABASE_URL: sslrootcert=system needs sslmode=verify-full, not {mode}")
        return ssl.create_default_context()
    path = Path(rootcert).expanduser()
    if not path.is_file():
        raise DatabaseUrlError(f"DATABASE_URL: sslrootcert {rootcert} is not a readable file")
    try:
        context = ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise DatabaseUrlError(f"DATABASE_URL: sslrootcert {rootcert} holds no usable CA certificate") from exc
    # libpq: require with a CA file verifies like verify-ca; only verify-full checks the host name
    context.check_hostname = mode == "verify-full"
    return context


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants postgresql:// without a SQLAlchemy driver suffix (pass `split_tls`'s keywords too)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def connect(url: str, **kwargs: Any) -> asyncpg.Connection:
    """One asyncpg connection of its own, outside any pool, with the TLS the URL asks for."""
    stripped, tls = split_tls(url)
    return await asyncpg.connect(asyncpg_dsn(stripped), **tls, **kwargs)
