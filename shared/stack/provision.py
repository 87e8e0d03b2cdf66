"""Database layout: one database, one schema per service, one role per service.

Each role owns its schema and can use nothing else, so a service cannot read or
write another service's tables even by mistake.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy.engine import make_url

from shared import pg
from shared.migrations import SERVICES
from shared.pg import connect

DATABASE = "switchboard"


def role_name(service: str) -> str:
    return f"sb_{service}"


def default_password(service: str) -> str:
    """Local-only default; set <SERVICE>_DB_PASSWORD for anything shared."""
    return f"sb_{service}_local"


def service_url(admin_url: str, service: str, password: str, database: str = DATABASE) -> str:
    """The URL a service connects with: same server, its own role."""
    url = make_url(admin_url).set(username=role_name(service), password=password, database=database)
    return url.render_as_string(hide_password=False)


def database_url(admin_url: str, database: str = DATABASE) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


async def provision(admin_url: str, passwords: dict[str, str], *, database: str = DATABASE) -> None:
    """Create the database, roles and schemas if missing; idempotent, safe to run at every start."""
    await _ensure_database(admin_url, database)
    conn = await connect(database_url(admin_url, database))
    try:
        await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service in SERVICES:
            await _ensure_role(conn, role_name(service), passwords[service])
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role_name(service)}')
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role_name(service)}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
    finally:
        await conn.close()


async def _ensure_database(admin_url: str, database: str) -> None:
    conn = await connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def _ensure_role(conn: asyncpg.Connection, role: str, password: str) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    verb = "ALTER" if exists else "CREATE"
    # a password cannot be a bind parameter in DDL; quote it as a literal
    literal = "'" + password.replace("'", "''") + "'"
    await conn.execute(f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal}")


def asyncpg_dsn(url: str) -> str:
    """`shared.pg.asyncpg_dsn`, where bench and the tests have always found it; connect with `shared.pg.connect`."""
    return pg.asyncpg_dsn(url)
