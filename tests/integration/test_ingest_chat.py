"""The chat channel of ingest on the real stack: opening, messages, the live socket, ending, the idle sweeper.

The app runs in this process (its lifespan on the test's event loop, with a FakeClock), against
the session's real PostgreSQL and Kafka. The WebSocket is driven over ASGI directly: the venv
has no WebSocket library for uvicorn or a client to use.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from services.ingest.entrypoints import access, tickets
from services.ingest.entrypoints import chat as chat_entrypoint
from services.ingest.entrypoints.api import DEFINITION
from services.ingest.entrypoints.chat import router as chat_router
from services.ingest.entrypoints.chat import run_chat_sweeper, run_chat_watcher
from services.ingest.handlers import chat as chat_handlers
from services.ingest.settings import IngestSettings
from shared.auth import Principal
from shared.clock import FakeClock
from shared.events import Envelope, topics
from shared.events.routing import TicketAssigned
from shared.stack.local import Infrastructure
from shared.web.app import create_service_app
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of
from tests.support.kafka import about, eventually, produce, read_all

pytestmark = pytest.mark.integration

IDLE_MINUTES = 30
SOURCE = "acme-widget"


# --- the app and who calls it ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def ingest(infra) -> AsyncIterator[SimpleNamespace]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    settings = IngestSettings(
        database_url=infra.service_urls["ingest"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        smtp_port=None,
        bootstrap_admin_key=ADMIN_KEY,
        chat_idle_minutes=IDLE_MINUTES,
        chat_sweep_interval_s=0.1,
        log_format="console",
        _env_file=None,
    )
    definition = dataclasses.replace(
        DEFINITION, workers=(("chat-sweeper", run_chat_sweeper), ("chat-watcher", run_chat_watcher))
    )
    app = create_service_app(definition, settings, routers=[tickets.router, access.router, chat_router], clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as http,
    ):
        yield SimpleNamespace(app=app, http=http, clock=clock)


async def _key(ingest: SimpleNamespace, role: str, **scope: str) -> SimpleNamespace:
    response = await ingest.http.post(
        "/v1/api-keys", headers=ADMIN, json={"role": role, "name": f"chat test {role}", **scope}
    )
    assert response.status_code == 201, response.text
    secret = response.json()["key"]
    return SimpleNamespace(secret=secret, headers={"Authorization": f"Bearer {secret}"}, **scope)


@pytest.fixture(scope="module")
async def widget(ingest) -> SimpleNamespace:
    return await _key(ingest, "platform", source=SOURCE)


@pytest.fixture(scope="module")
async def agent(ingest) -> SimpleNamespace:
    return await _key(ingest, "agent", agent_id=f"agent-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
async def other_agent(ingest) -> SimpleNamespace:
    return await _key(ingest, "agent", agent_id=f"agent-{uuid.uuid4().hex[:6]}")


async def open_chat(ingest: SimpleNamespace, key: SimpleNamespace, **fields: Any) -> dict[str, Any]:
    body = {"requester": {"email": "Ann@Example.com", "name": "Ann"}, "message": "Hello, my parcel is late", **fields}
    response = await ingest.http.post("/v1/chats", headers=key.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def assign(ingest: SimpleNamespace, infra, ticket_id: str, agent_id: str) -> None:
    """What the router does: TicketAssigned on the routing topic, which ingest's consumer applies."""
    event = TicketAssigned(
        ticket_id=ticket_id, agent_id=agent_id, queue="chat", reason="test", assigned_at=ingest.clock.now()
    )
    await produce(infra.bootstrap_servers, topics.ROUTING, envelope_of(event).to_bytes(), key=ticket_id)

    async def assigned() -> bool:
        response = await ingest.http.get(f"/v1/tickets/{ticket_id}", headers=ADMIN)
        return response.json()["assignee_agent_id"] == agent_id

    await eventually(assigned)


async def post(
    ingest: SimpleNamespace, key: SimpleNamespace, ticket_id: str, body: str, **fields: Any
) -> httpx.Response:
    return await ingest.http.post(f"/v1/chats/{ticket_id}/messages", headers=key.headers, json={"body": body, **fields})


async def ticket_events(infra: Infrastructure, ticket_id: str, event_type: str) -> list[Envelope]:
    records = await read_all(
        infra.bootstrap_servers,
        topics.TICKETS,
        until=lambda rs: any(e.type == event_type for e in about(rs, ticket_id)),
    )
    return [e for e in about(records, ticket_id) if e.type == event_type]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


# --- a WebSocket client speaking ASGI to the app, on this event loop -----------------------------


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code, self.reason = code, reason


class Socket:
    def __init__(
        self, app: Any, url: str, headers: dict[str, str] | None = None, subprotocols: list[str] | None = None
    ) -> None:
        parts = urlsplit(url)
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("ingest", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "headers": [(b"host", b"ingest"), *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())],
            "subprotocols": subprotocols or [],
        }
        self.subprotocol: str | None = None  # the one the app accepted
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> Socket:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self.app(self.scope, self._to_app.get, self._from_app.put))
        accepted = await self._next()
        assert accepted["type"] == "websocket.accept", accepted
        self.subprotocol = accepted.get("subprotocol")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._task.done():
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
            await asyncio.wait_for(self._task, timeout=10)

    async def _next(self, timeout: float = 10) -> dict[str, Any]:
        getting = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait({getting, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getting in done:
            return getting.result()
        getting.cancel()
        if self._task in done:
            raise AssertionError(f"the app ended the socket without closing it: {self._task.exception()!r}")
        raise AssertionError(f"nothing from the socket within {timeout}s")

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        message = await self._next(timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def send(self, frame: dict[str, Any]) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(frame)})

    async def closed(self, timeout: float = 10) -> Closed:
        with pytest.raises(Closed) as closed:
            frame = await self.receive(timeout)
            raise AssertionError(f"expected the socket to close, got {frame}")
        return closed.value

    async def close_code(self) -> int:
        return (await self.closed()).code


# --- opening -------------------------------------------------------------------------------------


async def test_opening_a_chat_answers_201_with_the_ticket_and_publishes_ticket_received(ingest, widget, infra):
    message = "My parcel is late\nIt was due on Monday, order 1234."
    headers = {**widget.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {
        "requester": {"email": "Ann@Example.com", "name": "Ann"},
        "message": message,
        "brand": "acme",
        "language": "en",
        "tags": ["Delivery"],
        "external_id": f"conv-{uuid.uuid4()}",
    }
    response = await ingest.http.post("/v1/chats", headers=headers, json=body)
    assert response.status_code == 201, response.text
    chat = response.json()
    assert (chat["channel"], chat["subject"], chat["brand"], chat["language"], chat["tags"]) == (
        "chat",
        "My parcel is late",
        "acme",
        "en",
        ["delivery"],
    )
    assert chat["external_ref"] == {"source": SOURCE, "external_id": body["external_id"]}
    assert chat["requester"]["email"] == "ann@example.com" and chat["chat_ended_at"] is None
    [first] = chat["messages"]
    assert (first["author_kind"], first["body"], first["via"], first["public"]) == ("customer", message, "chat", True)

    replay = await ingest.http.post("/v1/chats", headers=headers, json=body)
    assert (replay.status_code, replay.headers.get("idempotent-replayed"), replay.json()["id"]) == (
        201,
        "true",
        chat["id"],
    )
    again = await ingest.http.post("/v1/chats", headers=widget.headers, json=body)
    assert "already exists" in assert_problem(again, 409)["detail"]

    [received] = await ticket_events(infra, chat["id"], "switchboard.ticket.received")
    assert (received.data["channel"], received.data["reference"], received.data["inbox"]) == (
        "chat",
        chat["reference"],
        SOURCE,
    )


async def test_an_explicit_subject_is_kept_and_a_long_first_line_is_cut_to_120(ingest, widget, agent):
    assert (await open_chat(ingest, widget, subject="Refund"))["subject"] == "Refund"
    assert (await open_chat(ingest, widget, message="x" * 500))["subject"] == "x" * 120
    by_agent = await open_chat(ingest, agent)  # an agent opening a chat on a customer's behalf
    assert (by_agent["channel"], by_agent["inbox"]) == ("chat", None)


async def test_a_bad_body_is_a_422_problem_naming_the_field(ingest, widget):
    response = await ingest.http.post("/v1/chats", headers=widget.headers, json={"requester": {"name": "Ann"}})
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["message"] and "message" in problem["detail"]

    blank = await ingest.http.post("/v1/chats", headers=widget.headers, json={"requester": {}, "message": "  \n "})
    assert [e["field"] for e in assert_problem(blank, 422)["errors"]] == ["message"]

    chat = await open_chat(ingest, widget)
    bad_author = await post(ingest, widget, chat["id"], "hi", author="robot")
    assert [e["field"] for e in assert_problem(bad_author, 422)["errors"]] == ["author"]


async def test_a_manager_or_no_key_may_not_open_chats(ingest):
    manager = await _key(ingest, "manager")
    body = {"requester": {"name": "Ann"}, "message": "hi"}
    assert_problem(await ingest.http.post("/v1/chats", headers=manager.headers, json=body), 403)
    assert_problem(await ingest.http.post("/v1/chats", json=body), 401)


# --- messages ------------------------------------------------------------------------------------


async def test_customer_and_agent_messages_are_stored_in_order(ingest, widget, agent, infra):
    chat = await open_chat(ingest, widget)
    await assign(ingest, infra, chat["id"], agent.agent_id)
    sent: list[tuple[SimpleNamespace, str, dict[str, Any]]] = [
        (widget, "Are you there?", {}),
        (agent, "Yes, looking at it now", {}),
        (agent, "customer seems upset", {"public": False}),
        (widget, "Thanks!", {"author": "customer"}),
    ]
    for key, text, extra in sent:
        ingest.clock.advance(timedelta(seconds=5))
        response = await post(ingest, key, chat["id"], text, **extra)
        assert response.status_code == 201, response.text
        assert response.json()["via"] == "chat"

    ticket = (await ingest.http.get(f"/v1/tickets/{chat['id']}", headers=ADMIN)).json()
    stored = [(m["author_kind"], m["body"], m["public"]) for m in ticket["messages"]]
    assert stored == [
        ("customer", "Hello, my parcel is late", True),
        ("customer", "Are you there?", True),
        ("agent", "Yes, looking at it now", True),
        ("agent", "customer seems upset", False),
        ("customer", "Thanks!", True),
    ]
    assert ticket["messages"][2]["author_agent_id"] == agent.agent_id
    assert ticket["status"] == "open", "the agent's first public reply opens the ticket"
    assert ticket["updated_at"] == ingest.clock.now().isoformat().replace("+00:00", "Z")

    records = await read_all(
        infra.bootstrap_servers,
        topics.TICKETS,
        until=lambda rs: len([e for e in about(rs, chat["id"]) if e.type == "switchboard.ticket.message_added"]) >= 4,
    )
    added = [e.data for e in about(records, chat["id"]) if e.type == "switchboard.ticket.message_added"]
    assert [(a["author_kind"], a["via"]) for a in added] == [
        ("customer", "chat"),
        ("agent", "chat"),
        ("agent", "chat"),
        ("customer", "chat"),
    ]


async def test_only_the_assigned_agent_and_the_owning_platform_may_post(ingest, widget, agent, other_agent, infra):
    chat = await open_chat(ingest, widget)
    unassigned = await post(ingest, agent, chat["id"], "hello?")
    assert "not assigned" in assert_problem(unassigned, 403)["detail"]
    await assign(ingest, infra, chat["id"], agent.agent_id)
    assert_problem(await post(ingest, other_agent, chat["id"], "me too"), 403)
    assert (await post(ingest, agent, chat["id"], "hello")).status_code == 201

    stranger = await _key(ingest, "platform", source="someone-else")
    assert "does not belong" in assert_problem(await post(ingest, stranger, chat["id"], "hi"), 403)["detail"]
    pretending = await post(ingest, widget, chat["id"], "I am the agent", author="agent")
    assert "posts as the customer" in assert_problem(pretending, 403)["detail"]


async def test_an_unknown_chat_is_404_and_a_ticket_that_is_not_a_chat_409(ingest, widget):
    assert "no chat" in assert_problem(await post(ingest, widget, str(uuid.uuid4()), "hi"), 404)["detail"]
    assert_problem(await ingest.http.post(f"/v1/chats/{uuid.uuid4()}/end", headers=widget.headers), 404)

    ticket = await ingest.http.post(
        "/v1/tickets",
        headers=ADMIN,
        json={
            "subject": "By mail",
            "body": "hi",
            "requester": {"email": "bob@example.com"},
            "channel": "email",
            "external_ref": {"source": SOURCE, "external_id": str(uuid.uuid4())},
        },
    )
    assert ticket.status_code == 201, ticket.text
    assert "not a chat" in assert_problem(await post(ingest, widget, ticket.json()["id"], "hi"), 409)["detail"]
    assert (
        "not a chat"
        in assert_problem(await ingest.http.post(f"/v1/chats/{ticket.json()['id']}/end", headers=widget.headers), 409)[
            "detail"
        ]
    )


async def test_the_agent_ends_a_chat_and_nothing_more_can_be_posted(ingest, widget, agent, infra):
    chat = await open_chat(ingest, widget)
    await assign(ingest, infra, chat["id"], agent.agent_id)
    ended = await ingest.http.post(f"/v1/chats/{chat['id']}/end", headers=agent.headers)
    assert ended.status_code == 200 and ended.json()["chat_ended_at"] is not None, ended.text
    again = await ingest.http.post(f"/v1/chats/{chat['id']}/end", headers=widget.headers)
    assert again.json()["chat_ended_at"] == ended.json()["chat_ended_at"], "ending twice changes nothing"
    assert "has ended" in assert_problem(await post(ingest, widget, chat["id"], "wait!"), 409)["detail"]

    [event] = await ticket_events(infra, chat["id"], "switchboard.chat.ended")
    assert event.data["reason"] == "agent"


# --- the live socket -----------------------------------------------------------------------------


async def test_the_socket_sends_history_then_live_messages_from_the_other_side_then_ended(ingest, widget, agent, infra):
    chat = await open_chat(ingest, widget)
    await assign(ingest, infra, chat["id"], agent.agent_id)
    ingest.clock.advance(timedelta(seconds=1))
    assert (await post(ingest, widget, chat["id"], "Anyone?")).status_code == 201
    path = f"/v1/chats/{chat['id']}/stream"

    async with (
        Socket(ingest.app, path, headers=widget.headers) as customer,
        Socket(ingest.app, path, headers=agent.headers) as agent_side,
    ):
        for socket in (customer, agent_side):
            history = [await socket.receive(), await socket.receive()]
            assert [(f["type"], f["author_kind"], f["body"]) for f in history] == [
                ("message", "customer", "Hello, my parcel is late"),
                ("message", "customer", "Anyone?"),
            ]
            assert history[0]["id"] == chat["messages"][0]["id"]

        ingest.clock.advance(timedelta(seconds=1))
        reply = await post(ingest, agent, chat["id"], "Hi Ann, I am on it")
        for socket in (customer, agent_side):
            live = await socket.receive()
            assert (live["type"], live["id"], live["author_kind"], live["author_agent_id"]) == (
                "message",
                reply.json()["id"],
                "agent",
                agent.agent_id,
            )

        ingest.clock.advance(timedelta(seconds=1))
        await customer.send({"type": "message", "body": "Great, thanks"})
        for socket in (agent_side, customer):  # the sender gets its own message back: the acknowledgement
            live = await socket.receive()
            assert (live["author_kind"], live["body"], live["via"]) == ("customer", "Great, thanks", "chat")

        ingest.clock.advance(timedelta(seconds=1))
        await agent_side.send({"type": "message", "body": "refund approved by Bob", "public": False})
        assert (await agent_side.receive())["body"] == "refund approved by Bob"
        await agent_side.send({"type": "message"})
        error = await agent_side.receive()
        assert (error["type"], error["status"]) == ("error", 422) and error["detail"].startswith("body")

        assert (await ingest.http.post(f"/v1/chats/{chat['id']}/end", headers=widget.headers)).status_code == 200
        for socket in (customer, agent_side):
            # the customer's socket never shows the internal note: the next frame is the end
            ended = await socket.receive()
            assert (ended["type"], ended["reason"]) == ("ended", "customer")
            assert await socket.close_code() == 1000

    ticket = (await ingest.http.get(f"/v1/tickets/{chat['id']}", headers=ADMIN)).json()
    assert [m["body"] for m in ticket["messages"]][-2:] == ["Great, thanks", "refund approved by Bob"]
    async with Socket(ingest.app, path, headers={"X-Api-Key": widget.secret}) as late:
        frames = [await late.receive() for _ in range(5)]
        assert [f.get("body") for f in frames] == [
            "Hello, my parcel is late",
            "Anyone?",
            "Hi Ann, I am on it",
            "Great, thanks",
            None,
        ]
        assert (frames[-1]["type"], frames[-1]["reason"]) == ("ended", "customer")
        assert await late.close_code() == 1000


async def test_a_message_another_replica_stores_reaches_the_socket_by_polling(ingest, widget):
    chat = await open_chat(ingest, widget)
    runtime = ingest.app.state.runtime
    async with Socket(ingest.app, f"/v1/chats/{chat['id']}/stream", headers=widget.headers) as customer:
        assert (await customer.receive())["type"] == "message"
        # what another replica does: store and commit; nothing wakes this replica's sockets
        # (and with the clock not moved, the new message has the very same created_at as the first)
        async with runtime.uow() as uow:
            elsewhere = Principal(key_id="k", role="platform", name="widget", source=SOURCE)
            message = await chat_handlers.post_message(
                uow, chat["id"], elsewhere, "from another replica", clock=runtime.clock
            )
            await uow.commit()
        live = await customer.receive(timeout=2)
        assert (live["id"], live["body"]) == (message.id, "from another replica")


async def test_the_end_frame_names_the_reason(ingest, widget, agent, infra):
    chat = await open_chat(ingest, widget)
    await assign(ingest, infra, chat["id"], agent.agent_id)
    async with Socket(ingest.app, f"/v1/chats/{chat['id']}/stream", headers=widget.headers) as customer:
        assert (await customer.receive())["type"] == "message"
        await ingest.http.post(f"/v1/chats/{chat['id']}/end", headers=agent.headers)
        ended = await customer.receive()
        assert (ended["type"], ended["reason"]) == ("ended", "agent")


async def test_the_socket_closes_4401_without_a_valid_key_4404_for_an_unknown_chat_and_4403_for_a_stranger(
    ingest, widget, other_agent
):
    chat = await open_chat(ingest, widget)
    path = f"/v1/chats/{chat['id']}/stream"
    async with Socket(ingest.app, path, headers={"Authorization": "Bearer sb_platform_not-a-key"}) as wrong:
        closed = await wrong.closed()
        assert (closed.code, closed.reason) == (4401, "the API key is not valid")
    async with Socket(ingest.app, path) as wrong_in_frame:
        await wrong_in_frame.send({"type": "auth", "api_key": "sb_platform_not-a-key"})
        assert (await wrong_in_frame.closed()).code == 4401
    async with Socket(ingest.app, f"/v1/chats/{uuid.uuid4()}/stream", headers=widget.headers) as unknown:
        assert await unknown.close_code() == 4404
    async with Socket(ingest.app, path, headers=other_agent.headers) as stranger:
        assert await stranger.close_code() == 4403


# --- how the socket learns the key: never from the URL ------------------------------------------

WAYS_TO_SEND_A_KEY = ["authorization", "x-api-key", "subprotocol", "first frame"]


@pytest.mark.parametrize("way", WAYS_TO_SEND_A_KEY)
async def test_the_key_comes_in_a_header_a_subprotocol_or_the_first_frame(ingest, widget, way):
    chat = await open_chat(ingest, widget)
    headers = {"authorization": widget.headers, "x-api-key": {"X-Api-Key": widget.secret}}.get(way)
    subprotocols = ["switchboard.v1", f"bearer.{widget.secret}"] if way == "subprotocol" else None
    async with Socket(ingest.app, f"/v1/chats/{chat['id']}/stream", headers, subprotocols) as socket:
        if way == "first frame":
            await socket.send({"type": "auth", "api_key": widget.secret})
        first = await socket.receive()
        assert (first["type"], first["body"]) == ("message", "Hello, my parcel is late")
        # a browser needs a subprotocol answered; the one carrying the key is never echoed
        assert socket.subprotocol == ("switchboard.v1" if way == "subprotocol" else None)


async def test_a_key_in_the_url_is_refused_with_1008_and_says_what_to_do_instead(ingest, widget):
    chat = await open_chat(ingest, widget)
    url = f"/v1/chats/{chat['id']}/stream?api_key={widget.secret}"
    for headers in (None, widget.headers):  # refused even beside a valid header: the URL was logged
        async with Socket(ingest.app, url, headers) as socket:
            closed = await socket.closed()
            assert closed.code == 1008
            assert "?api_key=" in closed.reason and "Authorization" in closed.reason and "auth frame" in closed.reason
            assert widget.secret not in closed.reason


async def test_without_a_key_the_socket_waits_for_an_auth_frame_then_closes_4401(ingest, widget, monkeypatch):
    monkeypatch.setattr(chat_entrypoint, "AUTH_TIMEOUT_S", 0.3)
    chat = await open_chat(ingest, widget)
    path = f"/v1/chats/{chat['id']}/stream"
    async with Socket(ingest.app, path) as silent:
        closed = await silent.closed(timeout=5)
        assert closed.code == 4401 and closed.reason.startswith("no API key within 0.3 s")
    for frame in ({"type": "message", "body": "hi"}, {"type": "auth"}, {"type": "auth", "api_key": 42}):
        async with Socket(ingest.app, path) as socket:
            await socket.send(frame)
            closed = await socket.closed()
            assert (closed.code, closed.reason) == (4401, 'the first frame must be {"type": "auth", "api_key": "..."}')
    async with Socket(ingest.app, path, subprotocols=["switchboard.v1"]) as socket:  # no key among them
        await socket.send({"type": "auth", "api_key": widget.secret})
        assert (await socket.receive())["type"] == "message"


# --- the idle sweeper ----------------------------------------------------------------------------


async def test_the_sweeper_ends_chats_idle_past_the_limit_and_only_those(ingest, widget, infra):
    idle = await open_chat(ingest, widget)
    ingest.clock.advance(timedelta(minutes=IDLE_MINUTES - 10))
    active = await open_chat(ingest, widget)
    await asyncio.sleep(0.5)  # a few sweeps: nothing is idle yet
    assert (await ingest.http.get(f"/v1/tickets/{idle['id']}", headers=ADMIN)).json()["chat_ended_at"] is None

    async with Socket(ingest.app, f"/v1/chats/{idle['id']}/stream", headers=widget.headers) as customer:
        assert (await customer.receive())["type"] == "message"
        ingest.clock.advance(timedelta(minutes=10, seconds=1))

        async def ended() -> str | None:
            return (await ingest.http.get(f"/v1/tickets/{idle['id']}", headers=ADMIN)).json()["chat_ended_at"]

        await eventually(ended, timeout=10)
        assert (await customer.receive()) == {"type": "ended", "reason": "idle", "ended_at": await ended()}

    [event] = await ticket_events(infra, idle["id"], "switchboard.chat.ended")
    assert event.data["reason"] == "idle"
    assert "has ended" in assert_problem(await post(ingest, widget, idle["id"], "still there?"), 409)["detail"]
    assert (await ingest.http.get(f"/v1/tickets/{active['id']}", headers=ADMIN)).json()["chat_ended_at"] is None
    assert (await post(ingest, widget, active["id"], "still there?")).status_code == 201
