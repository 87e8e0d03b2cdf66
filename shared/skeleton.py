"""A service's plumbing from its name: schema and tables, ServiceDefinition, `create_app`, `main`.

A service built on it writes only its domain, handlers and routes:

    # services/sla/adapters/tables.py
    tables = service_tables("sla")
    metadata = tables.metadata          # its own tables go on this metadata too

    # services/sla/entrypoints/api.py
    SERVICE = ServiceSkeleton("sla", SlaSettings, tables, routers=(router,))
    create_app = SERVICE.create_app

    # services/sla/__main__.py
    SERVICE.main()

Alembic still needs the service's `migrations/` folder (its own tree and version table);
its env.py is `run_migrations(metadata)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, Table

from shared.auth.tables import add_api_keys_table
from shared.clock import Clock
from shared.db import make_metadata
from shared.messaging.consumer import Subscription
from shared.messaging.tables import MessagingTables, add_messaging_tables
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import BaseServiceSettings
from shared.web.app import create_service_app
from shared.web.serve import serve

__all__ = ["ServiceSkeleton", "ServiceTables", "service_tables"]

SettingsT = TypeVar("SettingsT", bound=BaseServiceSettings)
Worker = Callable[[Runtime, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ServiceTables:
    """A service's schema with the plumbing tables every service keeps in it."""

    metadata: MetaData
    messaging: MessagingTables
    api_keys: Table


def service_tables(name: str) -> ServiceTables:
    """Metadata for schema `name` holding the outbox, inbox, dead-letter and API-key tables."""
    metadata = make_metadata(name)
    return ServiceTables(metadata, add_messaging_tables(metadata), add_api_keys_table(metadata))


def _no_dependencies(runtime: Runtime) -> dict[str, Any]:
    return {}


class ServiceSkeleton(Generic[SettingsT]):
    """One service: its definition, its app factory and its process entry point."""

    def __init__(
        self,
        name: str,
        settings: type[SettingsT],
        tables: ServiceTables,
        *,
        subscriptions: tuple[Subscription, ...] = (),
        dependencies: Callable[[Runtime], dict[str, Any]] = _no_dependencies,
        workers: tuple[tuple[str, Worker], ...] = (),
        routers: Iterable[APIRouter] = (),
        title: str | None = None,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        if tables.metadata.schema != name:
            raise ValueError(
                f"service {name!r} must keep its tables in schema {name!r}, not {tables.metadata.schema!r}"
            )
        self.settings = settings
        self.tables = tables
        self.definition = ServiceDefinition(
            name=name,
            tables=tables.messaging,
            subscriptions=subscriptions,
            dependencies=dependencies,
            api_keys=tables.api_keys,
            workers=workers,
        )
        self.routers = tuple(routers)
        self.title = title
        self.body_limits = body_limits

    @property
    def name(self) -> str:
        return self.definition.name

    def create_app(self, settings: SettingsT | None = None, *, clock: Clock | None = None) -> FastAPI:
        """The service's FastAPI app; settings default to the environment's."""
        return create_service_app(
            self.definition,
            settings or self.settings(),
            routers=self.routers,
            clock=clock,
            title=self.title,
            body_limits=self.body_limits,
        )

    def main(self) -> None:
        """`python -m services.<name>`: serve the app under uvicorn with settings from the environment."""
        serve(self.create_app, self.settings())
