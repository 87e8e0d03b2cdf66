"""The chat WebSocket through a real uvicorn process (the integration tests speak ASGI directly)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.support.api import ADMIN, ADMIN_KEY

pytestmark = pytest.mark.e2e


async def open_chat(ingest: str) -> str:
    async with httpx.AsyncClient(base_url=ingest, headers=ADMIN, timeout=10) as http:
        opened = await http.post(
            "/v1/chats", json={"requester": {"email": "gil@customer.example"}, "message": "Hello?"}
        )
        assert opened.status_code == 201, opened.text
        return str(opened.json()["id"])


async def test_a_chat_streams_history_then_live_messages_over_a_websocket(services):
    ingest = services["ingest"].url
    chat_id = await open_chat(ingest)
    url = ingest.replace("http://", "ws://") + f"/v1/chats/{chat_id}/stream"
    async with (
        httpx.AsyncClient(base_url=ingest, headers=ADMIN, timeout=10) as http,
        websockets.connect(url, additional_headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as socket,
    ):
        first = json.loads(await socket.recv())
        assert (first["type"], first["body"]) == ("message", "Hello?")
        posted = await http.post(
            f"/v1/chats/{chat_id}/messages", json={"body": "Hi Gil, how can I help?", "author": "agent"}
        )
        assert posted.status_code == 201, posted.text
        live = json.loads(await socket.recv())
        assert (live["body"], live["author_kind"]) == ("Hi Gil, how can I help?", "agent")
        assert (await http.post(f"/v1/chats/{chat_id}/end")).status_code == 200
        ended = json.loads(await socket.recv())
        assert ended["type"] == "ended"


async def close_code(socket: websockets.ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await socket.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


# These open no chat: an open chat would wait for an agent and take the agents of later tests.
# A key the socket accepts leads on to "no such chat" (4404), one it refuses to 4401.


async def test_a_browser_sends_the_key_as_a_subprotocol_or_a_first_frame(services):
    """What `new WebSocket(url, ["switchboard.v1", "bearer." + key])` sends, through uvicorn."""
    url = services["ingest"].url.replace("http://", "ws://") + f"/v1/chats/{uuid.uuid4()}/stream"
    offered = [Subprotocol("switchboard.v1"), Subprotocol(f"bearer.{ADMIN_KEY}")]
    async with websockets.connect(url, subprotocols=offered) as socket:
        assert socket.subprotocol == "switchboard.v1"  # never the one that carries the key
        assert await close_code(socket) == 4404
    for key, code in ((ADMIN_KEY, 4404), ("sb_admin_not-a-key", 4401)):
        async with websockets.connect(url) as socket:
            await socket.send(json.dumps({"type": "auth", "api_key": key}))
            assert await close_code(socket) == code


async def test_a_key_in_the_url_is_refused_with_a_policy_violation(services):
    url = services["ingest"].url.replace("http://", "ws://") + f"/v1/chats/{uuid.uuid4()}/stream?api_key={ADMIN_KEY}"
    async with websockets.connect(url) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "Authorization" in closed.value.rcvd.reason
