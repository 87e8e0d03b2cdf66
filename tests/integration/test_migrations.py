"""Each service's Alembic tree builds exactly the tables its code declares (no forgotten migration)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.migrations import SERVICES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_declared_tables(infra, service):
    metadata = importlib.import_module(f"services.{service}.adapters.tables").metadata
    engine = create_async_engine(async_url(infra.service_urls[service]))
    try:
        async with engine.connect() as connection:

            def diff(sync_connection: Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync_connection,
                    opts={
                        "include_schemas": True,
                        "include_name": lambda name, type_, parent: type_ != "schema" or name == service,
                        "version_table_schema": service,
                    },
                )
                return compare_metadata(context, metadata)

            differences = await connection.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == [], (
        f"services/{service}: tables and migrations differ; run python -m shared.stack.revision {service} '...'"
    )
