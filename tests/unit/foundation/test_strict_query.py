"""`reject_unknown_query()`: a misspelt query parameter is a 422 naming it and what is allowed."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.web.problems import install_problem_handlers
from shared.web.query import allowed_query, reject_unknown_query


class Page(BaseModel):
    limit: int = 50
    cursor: str | None = None


async def paging(after: str | None = None) -> str | None:
    return after


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter(prefix="/v1", dependencies=[reject_unknown_query()])

    @router.get("/tickets")
    async def tickets(
        status: str | None = None,
        brand: str | None = None,
        channel: Annotated[str | None, Query(alias="channel")] = None,
        after: str | None = Depends(paging),
    ) -> dict[str, Any]:
        return {"status": status, "channel": channel, "after": after}

    @router.get("/queues/{name}")
    async def queue(name: str) -> dict[str, str]:
        return {"name": name}

    @router.get("/emails")
    async def emails(page: Annotated[Page, Query()]) -> dict[str, Any]:
        return page.model_dump()

    app.include_router(router)

    @app.get("/v1/raw", dependencies=[reject_unknown_query("sig")])
    async def raw(kind: str = "a") -> dict[str, str]:
        return {"kind": kind}

    @app.get("/v1/lenient")
    async def lenient(kind: str = "a") -> dict[str, str]:
        return {"kind": kind}

    return app


async def _get(path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as client:
        return await client.get(path, params=params)


async def test_a_misspelt_parameter_is_named_with_the_allowed_ones_and_a_suggestion() -> None:
    response = await _get("/v1/tickets", chanel="chat")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    message = "unknown query parameter (did you mean channel?); allowed: status, brand, channel, after"
    assert body["detail"] == f"chanel: {message}"
    assert body["errors"] == [{"field": "chanel", "message": message}]
    assert body["title"] == "Invalid request" and body["status"] == 422


async def test_declared_parameters_pass_including_those_of_dependencies() -> None:
    response = await _get("/v1/tickets", status="open", channel="chat", after="t-1")
    assert response.status_code == 200
    assert response.json() == {"status": "open", "channel": "chat", "after": "t-1"}


async def test_every_unknown_parameter_is_listed_once() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as client:
        response = await client.get("/v1/tickets?zzz=1&zzz=2&status=open&qqq=3")
    assert [error["field"] for error in response.json()["errors"]] == ["zzz", "qqq"]
    assert "did you mean" not in response.text


async def test_an_endpoint_without_query_parameters_says_so() -> None:
    response = await _get("/v1/queues/support", verbose="1")
    assert response.status_code == 422
    assert response.json()["detail"] == "verbose: unknown query parameter; this endpoint takes no query parameters"


async def test_a_query_model_allows_its_fields() -> None:
    assert (await _get("/v1/emails", limit="5", cursor="c")).json() == {"limit": 5, "cursor": "c"}
    assert (
        (await _get("/v1/emails", limt="5"))
        .json()["errors"][0]["message"]
        .startswith("unknown query parameter (did you mean limit?); allowed: limit, cursor")
    )


async def test_names_an_endpoint_reads_itself_can_be_added() -> None:
    assert (await _get("/v1/raw", sig="abc")).status_code == 200
    assert "allowed: kind, sig" in (await _get("/v1/raw", sgi="abc")).json()["detail"]


async def test_routes_without_the_dependency_stay_lenient() -> None:
    assert (await _get("/v1/lenient", anything="x")).status_code == 200


async def test_the_dependency_works_given_to_include_router_too() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter()

    @router.get("/v1/agents")
    async def agents(role: str | None = None) -> dict[str, str | None]:
        return {"role": role}

    app.include_router(router, dependencies=[reject_unknown_query()])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/v1/agents", params={"role": "x"})).status_code == 200
        refused = await client.get("/v1/agents", params={"rol": "x"})
    assert refused.json()["detail"] == "rol: unknown query parameter (did you mean role?); allowed: role"


def test_the_allowed_names_are_the_routes_declared_ones_in_order() -> None:
    router = APIRouter()

    @router.get("/things")
    async def things(b: int = 0, a: int = 0, after: str | None = Depends(paging)) -> None:
        return None

    (route,) = router.routes
    assert isinstance(route, APIRoute)
    assert allowed_query(route) == ("b", "a", "after")
