"""The chat channel: a widget's backend opens chats and posts for the customer, agents answer,
both follow the conversation over a WebSocket; idle chats are ended by a sweeper.

    POST /v1/chats                          open a chat (a ticket with channel chat)
    POST /v1/chats/{id}/messages            post a message (customer via a platform key, agent via an agent key)
    POST /v1/chats/{id}/end                 end it
    GET  /v1/chats/{id}/stream  (WebSocket) history, then live messages and a final `ended`

Sockets poll the database for what is new, so a message posted through any replica reaches
every socket on every replica; a post through this replica also wakes this replica's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.websockets import WebSocketDisconnect, WebSocketState

from services.ingest.domain import decide, limits
from services.ingest.domain.model import Message
from services.ingest.entrypoints.deps import clock_of, once, settings_of
from services.ingest.entrypoints.schemas import CustomFields, MessageOut, RequesterIn, Tags, TicketOut
from services.ingest.handlers import chat
from services.ingest.handlers.tickets import ExternalRefTaken, TicketNotFound, handle_open_ticket
from services.ingest.settings import as_ingest_settings
from shared.auth import Principal
from shared.auth.web import presented_key, principal_for_key, require
from shared.events.tickets import ExternalRef
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/chats", tags=["chat"])
# on each HTTP route, not the router: the stream's WebSocket route cannot take this HTTP-only check
# (and refuses ?api_key= itself)
STRICT_QUERY = [reject_unknown_query()]

POLL_INTERVAL_S = 0.25  # the hub's one query per process for all watched chats
SAFETY_POLL_S = 5.0  # a socket reads on its own at least this often, whatever the hub says
MAX_BODY = limits.MAX_BODY_CHARS

# WebSocket close codes (4000-4999 are the application's): 4000 plus the HTTP status they stand for
CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4401, 4403, 4404
CLOSE_POLICY_VIOLATION = 1008
AUTH_TIMEOUT_S = 5.0  # for the first frame's key when the handshake brought none
SUBPROTOCOL, KEY_SUBPROTOCOL_PREFIX = "switchboard.v1", "bearer."
# close reasons are at most 123 bytes
KEY_IN_URL = "?api_key= is refused (URLs are logged): send Authorization: Bearer or X-Api-Key, or a first auth frame"
NO_KEY = (
    'no API key within {:g} s: send Authorization: Bearer or X-Api-Key, or a first {{"type": "auth", "api_key": ...}}'
)


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class ChatCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requester: RequesterIn
    message: str = Field(min_length=1, max_length=MAX_BODY, description="the customer's first message")
    subject: str | None = Field(
        None, max_length=998, description="default: the message's first line, at most 120 characters"
    )
    brand: str = Field("default", min_length=1, max_length=limits.MAX_BRAND_CHARS)
    language: str | None = Field(None, max_length=limits.MAX_LANGUAGE_CHARS)
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFields = Field(default_factory=dict)
    external_id: str | None = Field(
        None, min_length=1, max_length=200, description="the chat's id in the widget; unique per source"
    )

    _text = field_validator("message", "subject")(_not_blank)

    def to_command(self, principal: Principal) -> decide.OpenTicket:
        requester = self.requester.to_requester()
        # a platform's chats are filed under its source (which is what lets its key post to them later);
        # an agent or admin opening one on a customer's behalf files its id under "chat"
        source = principal.source if principal.role == "platform" else None
        ref = ExternalRef(source=source or "chat", external_id=self.external_id) if self.external_id else None
        return decide.OpenTicket(
            channel="chat",
            subject=self.subject or chat.default_subject(self.message),
            body=self.message,
            requester=requester,
            brand=self.brand,
            language=self.language,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            external_ref=ref,
            inbox=source,
            via="chat",
        )


class ChatMessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_BODY)
    author: Literal["customer", "agent"] | None = Field(
        None, description="platform keys post as the customer, agent keys as the agent; an admin key chooses"
    )
    public: bool = Field(True, description="false = internal note for agents (customers' messages are always public)")

    _text = field_validator("body")(_not_blank)


@contextlib.contextmanager
def _as_problem(ticket_id: str) -> Iterator[None]:
    try:
        yield
    except TicketNotFound:
        raise Problem(404, f"no chat with id {ticket_id!r}") from None
    except chat.NotAllowed as exc:
        raise Problem(403, str(exc), title="Forbidden") from None
    except decide.InvalidChange as exc:
        raise Problem(409, str(exc)) from None


def hub_for(runtime: Runtime) -> chat.ChatHub:
    """One hub per service process (per runtime), shared by its sockets, routes and watcher."""
    return runtime.extensions.setdefault("chat_hub", chat.ChatHub())


def hub_of(app: FastAPI) -> chat.ChatHub:
    return hub_for(app.state.runtime)


async def run_chat_watcher(runtime: Runtime, stop: asyncio.Event) -> None:
    """The one database poll per process that tells sockets their chat changed on another replica."""
    await hub_for(runtime).watch(runtime.sessionmaker, stop, POLL_INTERVAL_S)


@router.post("", status_code=201, response_model=TicketOut, dependencies=STRICT_QUERY)
async def open_chat(
    body: ChatCreate,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("platform", "agent")),
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """Open a chat; 201 with the ticket once it and its TicketReceived are committed. `Idempotency-Key` makes retries safe."""
    if body.external_id and principal.role == "agent":
        # a chat id belongs to the widget's source: only its platform key (or an admin) may set one
        raise Problem(
            403, "external_id: only a platform key (or an admin) may give a chat an external id", title="Forbidden"
        )
    scope = f"chat:{principal.key_id}"

    async def work() -> tuple[int, dict[str, Any]]:
        try:
            ticket, first = await handle_open_ticket(
                body.to_command(principal),
                uow=uow,
                clock=clock_of(request),
                reference_prefix=settings_of(request).reference_prefix,
            )
        except ExternalRefTaken as exc:
            raise Problem(
                409, f"{exc.ref.source} chat {exc.ref.external_id} already exists", ticket_id=exc.ticket_id
            ) from None
        return 201, TicketOut.of(ticket, [first]).model_dump(mode="json")

    return await once(uow, clock_of(request), scope, idempotency_key, work)


@router.post("/{ticket_id}/messages", status_code=201, response_model=MessageOut, dependencies=STRICT_QUERY)
async def post_chat_message(
    ticket_id: str,
    body: ChatMessageCreate,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("platform", "agent")),
) -> MessageOut:
    """201 once stored; 409 if the chat has ended or the ticket is not a chat; an agent must be the assignee."""
    with _as_problem(ticket_id):
        message = await chat.post_message(
            uow, ticket_id, principal, body.body, clock=clock_of(request), author=body.author, public=body.public
        )
    await uow.commit()
    hub_of(request.app).wake(ticket_id)
    return MessageOut.of(message)


@router.post("/{ticket_id}/end", response_model=TicketOut, dependencies=STRICT_QUERY)
async def end_chat(
    ticket_id: str,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("platform", "agent")),
) -> TicketOut:
    """The customer (through a platform key) or the agent ends the chat; ending it again changes nothing."""
    with _as_problem(ticket_id):
        ticket = await chat.end_chat(uow, ticket_id, principal, clock=clock_of(request))
    await uow.commit()
    hub_of(request.app).wake(ticket_id)
    return TicketOut.of(ticket)


# --- the WebSocket ----------------------------------------------------------------------------


class _Refused(Exception):
    """The socket is to be closed with this code and reason before any chat data is sent."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _offered_key(websocket: WebSocket) -> str | None:
    """A key sent with the handshake: `Authorization`/`X-Api-Key`, or a `bearer.<key>` subprotocol."""
    if secret := presented_key(websocket):
        return secret
    for offered in websocket.scope.get("subprotocols") or ():
        if offered.startswith(KEY_SUBPROTOCOL_PREFIX) and len(offered) > len(KEY_SUBPROTOCOL_PREFIX):
            return offered[len(KEY_SUBPROTOCOL_PREFIX) :]
    return None


async def _first_message_key(websocket: WebSocket) -> str:
    """The key of a first `{"type": "auth", "api_key": ...}` frame, awaited for `AUTH_TIMEOUT_S`."""
    try:
        received = await asyncio.wait_for(websocket.receive(), timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        raise _Refused(CLOSE_UNAUTHORIZED, NO_KEY.format(AUTH_TIMEOUT_S)) from None
    if received["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(received.get("code", 1000))
    try:
        frame = json.loads(received.get("text") or received.get("bytes") or "")
    except ValueError:
        frame = None
    secret = frame.get("api_key") if isinstance(frame, dict) and frame.get("type") == "auth" else None
    if not isinstance(secret, str) or not secret.strip():
        raise _Refused(CLOSE_UNAUTHORIZED, 'the first frame must be {"type": "auth", "api_key": "..."}')
    return secret.strip()


async def _socket_principal(websocket: WebSocket) -> Principal:
    """Who is on the socket, from the handshake's key or the first frame's (see `stream`)."""
    if "api_key" in websocket.query_params:
        raise _Refused(CLOSE_POLICY_VIOLATION, KEY_IN_URL)
    secret = _offered_key(websocket) or await _first_message_key(websocket)
    try:
        return await principal_for_key(websocket, secret)
    except Problem:
        raise _Refused(CLOSE_UNAUTHORIZED, "the API key is not valid") from None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # a close reason is at most 123 bytes on the wire
    await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


@router.websocket("/{ticket_id}/stream")
async def stream(websocket: WebSocket, ticket_id: str) -> None:
    """Frames out: {"type": "message", ...MessageOut} for every message (history first), then
    {"type": "ended", "reason": ...}; {"type": "error", "status": ..., "detail": ...} answers a bad frame.
    Frames in: {"type": "message", "body": ..., "public"?: bool}, posted with the same rules as the REST route.

    The API key comes with the handshake (`Authorization: Bearer <key>`, `X-Api-Key: <key>`, or,
    from a browser, the subprotocols `switchboard.v1` and `bearer.<key>`: we answer
    `switchboard.v1`), else in a first frame {"type": "auth", "api_key": "<key>"} within
    `AUTH_TIMEOUT_S`. Never in the URL, which access logs keep: `?api_key=` closes with 1008.
    Closes with 4401 without a valid key, 4403 when the key may not follow this chat, 4404 for an unknown chat."""
    offered = websocket.scope.get("subprotocols") or ()
    # first, so the close codes below reach the client; never echo the key-bearing subprotocol
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    try:
        principal = await _socket_principal(websocket)
    except _Refused as refused:
        await _close(websocket, refused.code, refused.reason)
        return
    except WebSocketDisconnect:
        return
    runtime: Runtime = websocket.app.state.runtime
    async with runtime.sessionmaker() as session:
        state = await chat.read_chat(session, ticket_id)
    if state.ticket is None or state.ticket.channel != "chat":
        await _close(websocket, CLOSE_NOT_FOUND, f"no chat with id {ticket_id}")
        return
    try:
        chat.check_access(state.ticket, principal)
    except chat.NotAllowed as exc:
        await _close(websocket, CLOSE_FORBIDDEN, str(exc))
        return
    await ChatSocket(websocket, runtime, hub_of(websocket.app), principal, ticket_id).run(state)


class ChatSocket:
    """One connected participant: a feeder sends what is new, a reader posts what they send."""

    def __init__(
        self, websocket: WebSocket, runtime: Runtime, hub: chat.ChatHub, principal: Principal, ticket_id: str
    ) -> None:
        self.websocket, self.runtime, self.hub, self.principal, self.ticket_id = (
            websocket,
            runtime,
            hub,
            principal,
            ticket_id,
        )
        self.cursor = chat.FeedCursor()
        self._send_lock = asyncio.Lock()

    async def run(self, state: chat.ChatState) -> None:
        wake = self.hub.listen(self.ticket_id)
        try:
            try:
                if await self._deliver(state):
                    return
            except WebSocketDisconnect:
                return  # gone before the history was sent
            tasks = {asyncio.create_task(self._feed(wake)), asyncio.create_task(self._read())}
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                failure = task.exception()
                if failure is not None and not isinstance(failure, WebSocketDisconnect):
                    log.error("chat socket for %s failed", self.ticket_id, exc_info=failure)
                    await self._close_quietly(1011, "internal error; reconnect to resume")
        finally:
            self.hub.forget(self.ticket_id, wake)

    async def _feed(self, wake: asyncio.Event) -> None:
        while True:
            # woken by a post here or by the hub's watcher; the timeout is only a safety net
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=SAFETY_POLL_S)
            wake.clear()  # before reading: a post committed from here on is read now or wakes us again
            async with self.runtime.sessionmaker() as session:
                state = await chat.read_chat(session, self.ticket_id, since=self.cursor.since())
            if state.ticket is None:
                await self._close_quietly(CLOSE_NOT_FOUND, "the chat no longer exists")
                return
            if await self._deliver(state):
                return

    async def _deliver(self, state: chat.ChatState) -> bool:
        """Send what this socket has not seen; True once the chat has ended (then the socket is closed)."""
        for message in self.cursor.take(state.messages):
            if chat.visible_to(message, self.principal):
                await self._send(_message_frame(message))
        ticket = state.ticket
        if ticket is None or ticket.chat_ended_at is None:
            return False
        await self._send(
            EndedFrame(reason=ticket.chat_end_reason, ended_at=ticket.chat_ended_at).model_dump(mode="json")
        )
        await self._close_quietly(1000, "chat ended")
        return True

    async def _read(self) -> None:
        while True:
            received = await self.websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            await self._handle(received.get("text") if received.get("text") is not None else received.get("bytes"))

    async def _handle(self, raw: str | bytes | None) -> None:
        try:
            frame = json.loads(raw or "")
        except ValueError:
            return await self._error(400, "frames must be JSON objects")
        if not isinstance(frame, dict) or frame.get("type") != "message":
            return await self._error(422, 'type: expected {"type": "message", "body": "..."}')
        body, public = frame.get("body"), frame.get("public", True)
        if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
            return await self._error(422, f"body: a non-blank text of at most {MAX_BODY} characters is required")
        if not isinstance(public, bool):
            return await self._error(422, "public: must be true or false")
        try:
            async with self.runtime.uow() as uow:
                await chat.post_message(
                    uow, self.ticket_id, self.principal, body, clock=self.runtime.clock, public=public
                )
                await uow.commit()
        except TicketNotFound:
            return await self._error(404, f"no chat with id {self.ticket_id!r}")
        except chat.NotAllowed as exc:
            return await self._error(403, str(exc))
        except decide.InvalidChange as exc:
            return await self._error(409, str(exc))
        self.hub.wake(self.ticket_id)  # the feeder sends it back: that is the acknowledgement

    async def _error(self, status: int, detail: str) -> None:
        await self._send({"type": "error", "status": status, "detail": detail})

    async def _send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(frame))

    async def _close_quietly(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                async with self._send_lock:
                    await _close(self.websocket, code, reason)


class EndedFrame(BaseModel):
    type: Literal["ended"] = "ended"
    reason: str | None = Field(description="customer, agent or idle")
    ended_at: datetime


def _message_frame(message: Message) -> dict[str, Any]:
    return {"type": "message", **MessageOut.of(message).model_dump(mode="json")}


# --- the idle sweeper (a worker: register it in the service definition) ----------------------


async def run_chat_sweeper(runtime: Runtime, stop: asyncio.Event) -> None:
    """Every `chat_sweep_interval_s`, end the chats idle for `chat_idle_minutes` (ChatEnded, reason idle)."""
    settings = as_ingest_settings(runtime.settings)
    idle = timedelta(minutes=settings.chat_idle_minutes)
    while not stop.is_set():
        ended = await chat.sweep_idle_chats(runtime.uow, runtime.clock, idle, batch=chat.SWEEP_BATCH)
        if len(ended) >= chat.SWEEP_BATCH:
            continue  # a full batch: there may be more
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.chat_sweep_interval_s)
