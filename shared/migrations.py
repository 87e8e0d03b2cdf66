"""One Alembic tree per service, each versioned inside the service's own schema.

Each service's `migrations/env.py` calls `run_migrations(metadata)`; `upgrade()`
applies a service's tree programmatically (the CLI and the test fixtures use it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.pg import split_tls

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
SERVICES: tuple[str, ...] = ("ingest", "router", "sla", "escalation", "insights")


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url)
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Apply migrations; safe to call from inside a running event loop (it uses a thread)."""
    cfg = alembic_config(service, database_url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(cfg, revision)
        return
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, command.upgrade, cfg, revision))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _capture(errors: list[BaseException], fn: Callable[[Config, str], None], cfg: Config, revision: str) -> None:
    try:
        fn(cfg, revision)
    except BaseException as exc:  # re-raised in the calling thread
        errors.append(exc)


def run_migrations(metadata: MetaData) -> None:
    """Body of every service's env.py."""
    schema = metadata.schema
    assert schema, "service metadata must name its schema"
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "the Alembic config must carry sqlalchemy.url (see alembic_config)"

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "schema" or name == schema

    if context.is_offline_mode():
        context.configure(
            url=url,
            literal_binds=True,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        plain, tls = split_tls(url)
        engine = create_async_engine(async_url(plain), poolclass=pool.NullPool, connect_args=tls)
        async with engine.connect() as connection:
            await connection.run_sync(_run)
        await engine.dispose()

    asyncio.run(_online())
