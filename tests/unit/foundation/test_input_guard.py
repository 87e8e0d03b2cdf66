"""The input guard middleware: 422 problems naming the field, the body passed on byte for byte."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, WebSocket

from shared.web.guard import InputGuardMiddleware
from shared.web.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(InputGuardMiddleware, max_depth=8)

    @app.post("/raw/{source}")
    async def raw(source: str, request: Request) -> dict[str, str]:
        return {"source": source, "sha256": hashlib.sha256(await request.body()).hexdigest()}

    @app.get("/things/{thing_id}/parts/{part}")
    async def part(thing_id: str, part: str, q: str | None = None) -> dict[str, Any]:
        return {"thing_id": thing_id, "part": part, "q": q}

    items = APIRouter(prefix="/v1/items")

    @items.get("/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    app.include_router(items)

    @app.websocket("/socket/{room}")
    async def socket(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_text(room)
        await websocket.close()

    return app


async def _call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


def _refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errors"][0]["field"] == field, body
    assert body["detail"].startswith(f"{field}: ")
    return str(body["detail"])


@pytest.mark.parametrize(
    ("content_type", "raw", "field"),
    [
        ("application/json", json.dumps({"requester": {"name": "N\u0000"}}), "requester.name"),
        ("application/json; charset=utf-8", json.dumps({"tags": ["a", "\u0000"]}), "tags.1"),
        ("application/cloudevents+json", '{"data": {"score": NaN}}', "data.score"),
        # webhook senders label JSON loosely: the body's first byte decides, whatever the type says
        ("text/plain", json.dumps({"subject": "a\u0000b"}), "subject"),
        ("application/x-www-form-urlencoded", '{"a":' * 9 + "1" + "}" * 9, "a.a.a.a.a.a…"),
        (None, '  [{"k\\u0000": 1}]', "0"),
        ("application/json", '{"a": 1,\n  "b": ]', "$"),
    ],
)
async def test_bodies_with_refused_values_are_422_problems(content_type: str | None, raw: str, field: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    _refused(await _call("POST", "/raw/src", content=raw.encode(), headers=headers), field)


async def test_a_json_syntax_error_names_line_and_column() -> None:
    raw = b'{"a": 1,\n  "b": ]'
    detail = _refused(await _call("POST", "/raw/src", content=raw, headers={"content-type": "application/json"}), "$")
    assert "line 2, column 8" in detail


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/json", b'{"subject": "fine", "n": [1, 2.5, null]}'),
        # not JSON under a non-JSON type: the route decides what it is (a form, a signed blob)
        ("application/x-www-form-urlencoded", b"{not json at all"),
        ("text/plain", b"plain text with \\u0000 in it"),
        ("application/octet-stream", b"\x00\x01\x02"),
        ("application/json", b""),
    ],
)
async def test_acceptable_bodies_reach_the_route_byte_for_byte(content_type: str, raw: bytes) -> None:
    response = await _call("POST", "/raw/src", content=raw, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == hashlib.sha256(raw).hexdigest()


async def test_a_body_sent_in_chunks_reaches_the_route_whole() -> None:
    chunks = [b'{"subject": ', b'"split', b' across"', b", " * 1000 + b'"n": 1}']

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = await _call("POST", "/raw/src", content=stream(), headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/things/abc%00def/parts/p", "thing_id"),
        ("GET", "/things/abc/parts/p%00", "part"),
        ("POST", "/raw/src%00x", "source"),
        ("GET", "/things/a/parts/b?q=a%00b", "q"),
        ("GET", "/things/a/parts/b?ok=1&cursor=YQ%00", "cursor"),
        ("GET", "/things/a/parts/b?n%00ame=1", "query"),
        ("GET", "/nowhere/%00", "path"),
        ("GET", "/v1/items/i%00", "item_id"),
    ],
)
async def test_nul_in_paths_and_query_strings_names_the_parameter(method: str, path: str, field: str) -> None:
    _refused(await _call(method, path, content=b"{}"), field)


async def test_clean_paths_and_queries_pass() -> None:
    response = await _call("GET", "/things/a%20b/parts/p?q=%C3%A9")
    assert response.json() == {"thing_id": "a b", "part": "p", "q": "é"}


async def _websocket(path: str) -> list[dict[str, Any]]:
    app = _app()
    sent: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": []}
    await app({**scope, "scheme": "ws", "root_path": "", "subprotocols": []}, receive, send)
    return sent


async def test_a_websocket_with_nul_in_its_path_is_closed_as_a_policy_violation() -> None:
    assert [m["type"] for m in await _websocket("/socket/lobby")] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]
    closed = await _websocket("/socket/lob\x00by")
    assert [m["type"] for m in closed] == ["websocket.close"]
    assert closed[0]["code"] == 1008 and closed[0]["reason"].startswith("room: ")
