"""Every HTTP error is RFC 9457 problem+json, whatever raised it."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

from shared.messaging.uow import EventTooLarge
from shared.web.problems import Problem, install_problem_handlers


class Body(BaseModel):
    name: str
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/conflict")
    async def conflict() -> None:
        raise Problem(409, "the thing already exists", title="Conflict")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


async def _call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


def _assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_validation_errors_name_the_field() -> None:
    body = _assert_problem(await _call("POST", "/things", json={"name": "x", "count": "many"}), 422)
    assert "count" in body["detail"]


async def test_malformed_json_is_a_422_problem() -> None:
    _assert_problem(
        await _call("POST", "/things", content=b"{not json", headers={"content-type": "application/json"}), 422
    )


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/nowhere", 404), ("DELETE", "/things", 405)])
async def test_routing_errors_are_problems(method: str, path: str, status: int) -> None:
    _assert_problem(await _call(method, path), status)


async def test_raised_problems_keep_status_and_detail() -> None:
    body = _assert_problem(await _call("GET", "/conflict"), 409)
    assert body["detail"] == "the thing already exists"


async def test_unexpected_errors_are_500_problems_without_internals() -> None:
    body = _assert_problem(await _call("GET", "/boom"), 500)
    assert "secret internals" not in body["detail"]


class Many(BaseModel):
    name: str
    count: int
    tags: list[str]


def _many_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/many/{thing_id}")
    async def many(thing_id: int, body: Many, limit: int = 10) -> dict[str, str]:
        return {"name": body.name}

    return app


async def test_every_validation_problem_is_listed_in_errors_and_detail() -> None:
    transport = httpx.ASGITransport(app=_many_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/many/x?limit=lots", json={"count": "many", "tags": [1, "ok", [2]], **{f"x{i}": i for i in range(3)}}
        )
    body = _assert_problem(response, 422)
    fields = [error["field"] for error in body["errors"]]
    assert set(fields) == {"path.thing_id", "query.limit", "name", "count", "tags.0", "tags.2"}, fields
    for field in fields:
        assert field in body["detail"]


async def test_a_json_syntax_error_names_line_and_column() -> None:
    raw = b'{\n  "name": "x",\n  "count": oops\n}'
    response = await _call("POST", "/things", content=raw, headers={"content-type": "application/json"})
    body = _assert_problem(response, 422)
    assert body["errors"] == [{"field": "$", "message": "is not valid JSON: Expecting value at line 3, column 12"}]


def _raising(exc: BaseException) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/things")
    async def things() -> None:
        raise exc

    return app


class _QueryCanceled(Exception):
    sqlstate = "57014"


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),
        sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"),
        sa_exc.OperationalError("select 1", {}, Exception("server closed the connection unexpectedly")),
        sa_exc.DBAPIError("select 1", {}, Exception("gone"), connection_invalidated=True),
        sa_exc.DBAPIError("select 1", {}, _QueryCanceled("canceling statement due to statement timeout")),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
)
async def test_an_unreachable_database_is_a_503_with_retry_after(exc: BaseException) -> None:
    transport = httpx.ASGITransport(app=_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/things")
    body = _assert_problem(response, 503)
    assert response.headers["retry-after"] == "5"
    assert "database" in body["detail"]


@pytest.mark.parametrize(
    "exc",
    [
        sa_exc.IntegrityError("insert", {}, Exception("duplicate key")),
        sa_exc.ProgrammingError("selec 1", {}, Exception("syntax error")),
        FileNotFoundError("templates/x.html"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
)
async def test_other_database_and_os_errors_stay_500s(exc: BaseException) -> None:
    transport = httpx.ASGITransport(app=_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/things")
    _assert_problem(response, 500)
    assert "retry-after" not in response.headers


async def test_an_event_too_large_for_kafka_is_a_413_naming_the_event_and_limit() -> None:
    transport = httpx.ASGITransport(
        app=_raising(EventTooLarge("switchboard.ticket.received", 1_600_000, 921_600)), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/v1/things")
    body = _assert_problem(response, 413)
    assert "switchboard.ticket.received" in body["detail"] and "921600" in body["detail"]
