"""Database helpers: per-schema metadata and the async engine every service uses."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import MetaData, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.pg import split_tls

if TYPE_CHECKING:
    from shared.settings import BaseServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in the service's own schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs (what ops copy around) and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class DbTimeouts:
    """Server-side limits on every pooled connection, and how long to wait for one (seconds; 0 = none)."""

    statement_s: float = 30.0
    lock_s: float = 10.0
    idle_in_transaction_s: float = 60.0
    pool_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings) -> DbTimeouts:
        return cls(
            statement_s=settings.db_statement_timeout_s,
            lock_s=settings.db_lock_timeout_s,
            idle_in_transaction_s=settings.db_idle_in_transaction_timeout_s,
            pool_s=settings.db_pool_timeout_s,
        )

    def server_settings(self) -> dict[str, str]:
        def ms(seconds: float) -> str:
            return str(max(0, round(seconds * 1000)))

        return {
            "statement_timeout": ms(self.statement_s),
            "lock_timeout": ms(self.lock_s),
            "idle_in_transaction_session_timeout": ms(self.idle_in_transaction_s),
        }


# a pooled connection unused for longer than this is pinged before it is handed out
PING_AFTER_IDLE_S = 2.0


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    application_name: str = "switchboard",
    timeouts: DbTimeouts | None = None,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
) -> AsyncEngine:
    timeouts = timeouts or DbTimeouts()
    url, tls = split_tls(url)  # sslmode is not an asyncpg keyword: it becomes `ssl`
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": application_name, **timeouts.server_settings()},
        **tls,
    }
    waits: dict[str, Any] = {}
    if timeouts.pool_s > 0:
        # asyncpg waits 60 s for a connection by default; an unreachable database should answer 503 sooner
        connect_args["timeout"] = timeouts.pool_s
        waits["pool_timeout"] = timeouts.pool_s
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # the connection checked in last is handed out first: a service working one transaction at a
        # time keeps reusing one connection, within the ping limit, while the others sit idle (FIFO
        # handed out the one idle longest: after a burst, a quiet service's every checkout found a
        # connection idle past the limit and paid a ping's round trip)
        pool_use_lifo=True,
        # a failed statement's message must not carry its parameters: they can be keys or webhook secrets
        hide_parameters=True,
        connect_args=connect_args,
        **waits,
    )
    ping_when_idle(engine, ping_after_idle_s)
    return engine


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection whose statements each commit alone: one statement that needs no
    transaction around it, without the BEGIN and COMMIT round trips."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


def ping_when_idle(engine: AsyncEngine, after_s: float) -> None:
    """Ping a pooled connection before handing it out only if it sat unused for `after_s`.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: with asyncpg that is three round trips
    (BEGIN, an empty query, ROLLBACK) before each transaction, a good part of a busy service's
    statements. A connection that was in use a moment ago is as good as the ping would find it;
    one that sat idle may have been closed by a database restart, a failover or a proxy, and that
    is the one pinged. One that fails its ping is replaced before the caller sees it (the pool
    retries the checkout). A connection broken while in use fails that transaction, as it would
    with pre-ping too, and the disconnect invalidates every older connection of the pool."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < after_s:
            return  # new, or in use a moment ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise sa_exc.DisconnectionError("pooled connection failed its ping") from exc


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or cannot serve now (refused, dropped, timed out, shutting down)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        if _unavailable_here(current):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _unavailable_here(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, sa_exc.TimeoutError)) or type(exc) is OSError:
        return True
    if isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    ):
        return True
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError)):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and (sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES)


# connection exception, insufficient resources, operator intervention (statement timeout, shutdown, starting up)
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57"})
# lock_timeout, idle_in_transaction_session_timeout
_UNAVAILABLE_STATES = frozenset({"55P03", "25P03"})
# the exception types whose handler asks `database_unavailable` (others of these kinds stay 500s)
UNAVAILABLE_KINDS: tuple[type[Exception], ...] = (
    OSError,
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
