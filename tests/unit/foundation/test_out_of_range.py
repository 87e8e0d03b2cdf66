"""A number too large for its column is the request's fault: a 422 naming the parameter, not a 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from shared.web.problems import install_problem_handlers


def _bind_error(value: int, bits: int = 32) -> sa_exc.DBAPIError:
    """What SQLAlchemy raises when asyncpg cannot encode a bound integer (as seen from the router)."""
    try:
        raise OverflowError(f"value out of int{bits} range")
    except OverflowError as overflow:
        try:
            raise asyncpg.exceptions.DataError(
                f"invalid input for query argument $1: {value} (value out of int{bits} range)"
            ) from overflow
        except asyncpg.exceptions.DataError as data_error:
            return sa_exc.DBAPIError("SELECT ... WHERE version = $1::INTEGER", {}, data_error)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/rules/versions/{version}")
    async def version(version: int) -> None:
        raise _bind_error(version)

    @app.get("/v1/agents")
    async def agents(limit: int = 10) -> None:
        raise _bind_error(limit, 64)

    @app.post("/v1/agents")
    async def create() -> None:
        raise _bind_error(99999999999)

    @app.get("/v1/other")
    async def other() -> None:
        raise sa_exc.DBAPIError("SELECT 1", {}, asyncpg.exceptions.DataError("invalid input for query argument $1"))

    return app


async def _call(method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("/v1/rules/versions/541196590703", "version", "541196590703 is too large; the largest accepted is 2147483647"),
        (
            "/v1/rules/versions/-541196590703",
            "version",
            "-541196590703 is too small; the smallest accepted is -2147483648",
        ),
        (
            "/v1/agents?limit=100019585043901539317515812864",
            "limit",
            "100019585043901539317515812864 is too large; the largest accepted is 9223372036854775807",
        ),
    ],
)
async def test_an_integer_over_its_columns_width_is_a_422_naming_the_parameter(
    path: str, field: str, message: str
) -> None:
    response = await _call("GET", path)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"] == [{"field": field, "message": message}]
    assert body["detail"] == f"{field}: {message}"


async def test_a_number_from_the_body_is_refused_without_a_field_name() -> None:
    body = (await _call("POST", "/v1/agents")).json()
    assert body["status"] == 422
    assert body["detail"].startswith("a number in the request: 99999999999 is too large")


async def test_other_data_errors_stay_500s() -> None:
    response = await _call("GET", "/v1/other")
    assert response.status_code == 500
