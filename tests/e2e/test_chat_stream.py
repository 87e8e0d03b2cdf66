"""The chat WebSocket through a real uvicorn process (the integration tests speak ASGI directly)."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.support.api import ADMIN, ADMIN_KEY

pytestmark = pytest.mark.e2e


async def test_a_chat_streams_history_then_live_messages_over_a_websocket(services):
    ingest = services["ingest"].url
    async with httpx.AsyncClient(base_url=ingest, headers=ADMIN, timeout=10) as http:
        opened = await http.post(
            "/v1/chats", json={"requester": {"email": "gil@customer.example"}, "message": "Hello?"}
        )
        assert opened.status_code == 201, opened.text
        chat_id = opened.json()["id"]
        url = ingest.replace("http://", "ws://") + f"/v1/chats/{chat_id}/stream?api_key={ADMIN_KEY}"
        async with websockets.connect(url) as socket:
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
