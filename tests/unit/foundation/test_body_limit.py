"""Bodies over the limit are refused with a 413 problem, whether declared or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from shared.web.limits import BodyLimitMiddleware
from shared.web.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=1000, overrides={"/big": 5000})

    @app.post("/small")
    @app.post("/big")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


async def _post(path: str, content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as client:
        return await client.post(path, content=content)


async def test_a_declared_length_over_the_limit_is_refused() -> None:
    response = await _post("/small", b"x" * 1001)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1001 bytes" in response.json()["detail"]


async def test_a_streamed_body_over_the_limit_is_refused() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 300

    response = await _post("/small", chunks())
    assert response.status_code == 413 and "over the 1000-byte limit" in response.json()["detail"]


async def test_bodies_within_the_limit_and_larger_route_limits_pass() -> None:
    assert (await _post("/small", b"x" * 1000)).json() == {"size": 1000}
    assert (await _post("/big", b"x" * 4000)).json() == {"size": 4000}
    assert (await _post("/big", b"x" * 5001)).status_code == 413
