"""A fake Discord: the REST routes and the websocket gateway the bot uses, on 127.0.0.1:0.

What it does, so tests can assert on what crossed the wire (never on mocks):

- **REST** under ``/api/v10``: ``GET /gateway/bot``, ``/users/@me``, ``/oauth2/applications/@me``;
  application command registration (global and per guild); ``POST /channels/{id}/messages``
  (JSON or multipart with files) with Discord's ``enforce_nonce`` semantics (a second post with
  the same nonce returns the first message and creates nothing); interaction callbacks,
  ``@original`` edits and follow-ups. Every request is recorded; an unknown route answers 404 and
  is recorded in :attr:`FakeDiscord.unhandled`.
- **Interaction state machine**: one callback per interaction, within the deadline (3 s, as
  Discord); edits and follow-ups only after it. A violation answers what Discord answers and
  is recorded in :attr:`FakeDiscord.protocol_errors`.
- **Faults**: :meth:`FakeDiscord.inject` makes the next requests on a route answer 429 (with
  ``Retry-After`` and the ``X-RateLimit-*`` headers) or a 5xx, optionally *after* carrying out
  the request (the post exists but the client sees an error: what makes nonces necessary).
  :meth:`FakeDiscord.limit_globally` is Discord's global rate limit: for a while every request
  made with the bot token answers 429 with ``X-RateLimit-Global: true``, scope ``global`` and
  the time left as ``retry_after`` (interaction callbacks and webhooks are exempt, as there).
- **Gateway** at ``/gateway``: HELLO, heartbeat ACKs, IDENTIFY → READY whose
  ``resume_gateway_url`` points back here, dispatches with sequence numbers, RESUME → missed
  dispatches then RESUMED, op 7 RECONNECT, dropping the connection; every compression hikari can
  ask for (``zstd-stream``, ``zlib-stream``, per-payload zlib, none).
- ``loop_errors`` collects what hikari reports to the loop's exception handler (a payload it
  could not deserialise surfaces only there).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

from isr_testing.fakediscord import payloads

API_PREFIX = "/api/v10"
INTERACTION_DEADLINE_S = 3.0
"""Discord's deadline for the first response to an interaction."""

_CALLBACK_MESSAGE = 4
_CALLBACK_DEFERRED = 5
_CALLBACK_AUTOCOMPLETE = 8
_EPHEMERAL = 64


@dataclass
class RecordedRequest:
    """One HTTP request the fake received, and what it answered."""

    method: str
    path: str
    """Path below ``/api/v10``."""
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    """The JSON body (``payload_json`` of a multipart body); None without one."""
    files: dict[str, bytes]
    """Multipart file parts by filename."""
    at: float
    """``time.monotonic()`` when it arrived."""
    status: int = 0
    global_limited: bool = False
    """Answered with a global 429 (:meth:`FakeDiscord.limit_globally`)."""


@dataclass
class Fault:
    """Answer the next ``remaining`` matching requests with ``status``."""

    method: str
    path: re.Pattern[str]
    status: int
    remaining: int
    retry_after_s: float
    after_effect: bool
    """Carry the request out first, then answer the error (the client cannot tell)."""


@dataclass
class InteractionState:
    """What happened to one interaction the fake sent."""

    id: int
    token: str
    created_at: float
    callback: dict[str, Any] | None = None
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    """The original (deferred) answer was deleted."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def reply(self) -> dict[str, Any] | None:
        """The visible answer: the callback's message, else the edited original, else a follow-up.

        A deferred callback carries only flags; its answer is the edit or the first follow-up.
        """
        if self.callback is None:
            return None
        kind = self.callback.get("type")
        data = dict(self.callback.get("data") or {})
        if kind in (_CALLBACK_MESSAGE, _CALLBACK_AUTOCOMPLETE):
            return data
        if self.original is not None:
            return {**self.original, "flags": data.get("flags", 0)}
        if self.followups:
            return self.followups[0]
        return None


@dataclass
class _Session:
    id: str
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    send: Callable[[dict[str, Any]], Any] | None = None
    missed: list[dict[str, Any]] = field(default_factory=list)


class FakeDiscord:
    """The fake; ``async with FakeDiscord() as fake`` starts it on a free port."""

    def __init__(self, *, interaction_deadline_s: float = INTERACTION_DEADLINE_S) -> None:
        self.interaction_deadline_s = interaction_deadline_s
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.protocol_errors: list[str] = []
        self.loop_errors: list[dict[str, Any]] = []
        self.messages: dict[int, list[dict[str, Any]]] = {}
        """Messages that exist, per channel id, in creation order."""
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        """Registered commands per guild id (None = global)."""
        self.interactions: dict[int, InteractionState] = {}
        self.gateway_received: list[dict[str, Any]] = []
        """Every payload clients sent on the gateway (op, d)."""
        self.identifies = 0
        self.resumes = 0
        self.connections = 0
        self.compressions: list[str] = []
        """The ``compress`` mode of each gateway connection (``none`` when absent)."""
        self.post_delay_s = 0.0
        """Extra time every message post takes (to make a burst last long enough to interrupt)."""
        self._faults: list[Fault] = []
        self._global_until = 0.0
        self._sessions: dict[str, _Session] = {}
        self._session_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._previous_handler: Any = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def rest_url(self) -> str:
        """What the bot's ``ISR_DISCORD_API_URL`` should be (no trailing slash)."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The websocket URL handed out by ``/gateway/bot`` and READY."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        self._previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._on_loop_error)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for session in self._sessions.values():
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(Exception):
                    await session.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
        asyncio.get_running_loop().set_exception_handler(self._previous_handler)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.loop_errors.append(context)
        loop.default_exception_handler(context)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, condition: Callable[[], Any], *, timeout_s: float = 10.0, what: str = "condition"
    ) -> Any:
        """Wait until ``condition()`` is truthy (re-checked on every request or gateway frame)."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                msg = f"fake Discord: timed out after {timeout_s:g} s waiting for {what}"
                raise AssertionError(msg)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    # -- assertions helpers -----------------------------------------------------------------
    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages that exist in a channel, oldest first."""
        return list(self.messages.get(channel_id, []))

    def posts(self, channel_id: int | None = None) -> list[RecordedRequest]:
        """Every message post request (to one channel, or all), including failed ones."""
        return [
            r
            for r in self.requests
            if r.method == "POST"
            and re.fullmatch(r"/channels/\d+/messages", r.path)
            and (channel_id is None or r.path == f"/channels/{channel_id}/messages")
        ]

    async def wait_for_messages(
        self, channel_id: int, count: int, *, timeout_s: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until the channel holds at least ``count`` messages; return them."""
        await self.wait_until(
            lambda: len(self.messages.get(channel_id, [])) >= count,
            timeout_s=timeout_s,
            what=f"{count} message(s) in channel {channel_id}",
        )
        return self.channel_messages(channel_id)

    async def wait_for_request(
        self, method: str, path_pattern: str, *, timeout_s: float = 10.0
    ) -> RecordedRequest:
        """Wait for a request whose path (below /api/v10) fully matches ``path_pattern``."""
        regex = re.compile(path_pattern)

        def found() -> RecordedRequest | None:
            for r in self.requests:
                if r.method == method and regex.fullmatch(r.path):
                    return r
            return None

        result: RecordedRequest = await self.wait_until(
            found, timeout_s=timeout_s, what=f"{method} {path_pattern}"
        )
        return result

    async def wait_for_gateway_op(
        self, op: int, *, after: int = 0, timeout_s: float = 10.0
    ) -> dict[str, Any]:
        """Wait for a client gateway payload with ``op`` at index ``after`` or later."""

        def found() -> dict[str, Any] | None:
            for payload in self.gateway_received[after:]:
                if payload.get("op") == op:
                    return payload
            return None

        result: dict[str, Any] = await self.wait_until(
            found, timeout_s=timeout_s, what=f"gateway op {op}"
        )
        return result

    # -- faults -----------------------------------------------------------------------------
    def inject(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int,
        count: int = 1,
        retry_after_s: float = 0.05,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``count`` requests matching with ``status`` (429 gets retry headers)."""
        self._faults.append(
            Fault(method, re.compile(path_pattern), status, count, retry_after_s, after_effect)
        )

    def limit_globally(self, retry_after_s: float) -> None:
        """Answer every bot-token request with a global 429 for the next ``retry_after_s``."""
        self._global_until = time.monotonic() + retry_after_s

    def global_429s(self) -> list[RecordedRequest]:
        """Every request answered with a global 429."""
        return [r for r in self.requests if r.global_limited]

    def _global_limit(self, headers: dict[str, str]) -> web.Response | None:
        left_s = self._global_until - time.monotonic()
        if left_s <= 0 or "Authorization" not in headers:
            return None
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(left_s, 3),
            "global": True,
            "code": 0,
        }
        headers = {
            "Retry-After": str(max(1, round(left_s))),
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
        }
        return web.json_response(body, status=429, headers=headers)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.method == method and fault.path.fullmatch(path):
                fault.remaining -= 1
                return fault
        return None

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        if fault.status == 429:
            body = {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after_s,
                "global": False,
                "code": 0,
            }
            headers = {
                "Retry-After": f"{fault.retry_after_s:g}",
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{fault.retry_after_s:g}",
                "X-RateLimit-Bucket": "fake-bucket",
                "X-RateLimit-Scope": "user",
            }
            return web.json_response(body, status=429, headers=headers)
        return web.json_response(payloads.error("fake server error", 0), status=fault.status)

    # -- REST -------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX):
            return await self._unknown(request, path)
        sub = path[len(API_PREFIX) :]
        body, files = await _read_body(request)
        record = RecordedRequest(
            method=request.method,
            path=sub,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
            at=time.monotonic(),
        )
        self.requests.append(record)
        if self.post_delay_s and request.method == "POST" and sub.startswith("/channels/"):
            await asyncio.sleep(self.post_delay_s)  # simulated latency, not synchronisation
        try:
            limited = self._global_limit(record.headers)
            if limited is not None:
                record.global_limited = True
                record.status = limited.status
                return limited
            fault = self._take_fault(request.method, sub)
            if fault is not None and not fault.after_effect:
                response = self._fault_response(fault)
            else:
                response = self._route(request.method, sub, body, files, record)
                if fault is not None:
                    response = self._fault_response(fault)
            record.status = response.status
            return response
        finally:
            self._notify()

    async def _unknown(self, request: web.Request, path: str) -> web.Response:
        record = RecordedRequest(
            request.method, path, dict(request.query), dict(request.headers), None, {}, 0.0, 404
        )
        self.unhandled.append(record)
        self._notify()
        return web.json_response(payloads.error("404: Not Found", 0), status=404)

    def _route(  # noqa: PLR0911 - one return per route
        self,
        method: str,
        path: str,
        body: Any,
        files: dict[str, bytes],
        record: RecordedRequest,
    ) -> web.Response:
        app = payloads.APPLICATION_ID
        if method == "GET" and path == "/gateway/bot":
            return web.json_response(payloads.gateway_bot(self.gateway_url))
        if method == "GET" and path == "/users/@me":
            return web.json_response(payloads.own_user())
        if method == "GET" and path == "/oauth2/applications/@me":
            return web.json_response(payloads.application())
        if m := re.fullmatch(rf"/applications/{app}(?:/guilds/(\d+))?/commands", path):
            guild = int(m[1]) if m[1] else None
            if method == "PUT":
                self.commands[guild] = [
                    payloads.application_command(c, guild_id=guild) for c in body
                ]
                return web.json_response(self.commands[guild])
            if method == "GET":
                return web.json_response(self.commands.get(guild, []))
        if method == "POST" and (m := re.fullmatch(r"/channels/(\d+)/messages", path)):
            return self._create_message(int(m[1]), body or {}, files)
        if method == "POST" and (m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)):
            return self._callback(int(m[1]), m[2], body or {})
        if m := re.fullmatch(rf"/webhooks/{app}/([^/]+)(/messages/@original)?", path):
            return self._webhook(method, m[1], bool(m[2]), body or {}, files)
        self.unhandled.append(record)
        return web.json_response(payloads.error("404: Not Found", 0), status=404)

    def _create_message(
        self, channel_id: int, body: dict[str, Any], files: dict[str, bytes]
    ) -> web.Response:
        if "allowed_mentions" not in body:
            self.protocol_errors.append(f"post to {channel_id} without allowed_mentions")
        nonce = body.get("nonce")
        existing = self.messages.setdefault(channel_id, [])
        if nonce is not None and body.get("enforce_nonce"):
            for message in existing:
                if message.get("nonce") == nonce:
                    return web.json_response(message)
        message = payloads.message(channel_id, body)
        message["attachments"] = [
            payloads.attachment(i, name, len(data), self.url)
            for i, (name, data) in enumerate(files.items())
        ]
        message["_allowed_mentions"] = body.get("allowed_mentions")
        existing.append(message)
        return web.json_response({k: v for k, v in message.items() if not k.startswith("_")})

    def send_interaction(self, **kwargs: Any) -> InteractionState:
        """Dispatch INTERACTION_CREATE (see :func:`payloads.interaction`); return its state."""
        payload = payloads.interaction(**kwargs)
        state = InteractionState(int(payload["id"]), payload["token"], time.monotonic())
        self.interactions[state.id] = state
        self.dispatch("INTERACTION_CREATE", payload)
        return state

    async def wait_for_reply(
        self, state: InteractionState, *, timeout_s: float = 10.0
    ) -> dict[str, Any]:
        """Wait until the interaction has a visible answer; return it (content, embeds, flags)."""
        reply: dict[str, Any] = await self.wait_until(
            lambda: state.reply, timeout_s=timeout_s, what=f"a reply to interaction {state.id}"
        )
        return reply

    def _callback(self, iid: int, token: str, body: dict[str, Any]) -> web.Response:
        state = self.interactions.get(iid)
        if state is None or state.token != token:
            self.protocol_errors.append(f"callback for unknown interaction {iid}")
            return web.json_response(payloads.error("Unknown interaction", 10062), status=404)
        if state.callback is not None:
            self.protocol_errors.append(f"interaction {iid} answered twice")
            return web.json_response(
                payloads.error("Interaction has already been acknowledged.", 40060), status=400
            )
        late_s = time.monotonic() - state.created_at
        if late_s > self.interaction_deadline_s:
            self.protocol_errors.append(f"interaction {iid} answered after {late_s:.2f} s")
            return web.json_response(payloads.error("Unknown interaction", 10062), status=404)
        state.callback = body
        state.changed.set()
        return web.json_response({"interaction": {"id": str(iid), "type": 2}})

    def _state_for_token(self, token: str) -> InteractionState | None:
        for state in self.interactions.values():
            if state.token == token:
                return state
        return None

    def _webhook(
        self,
        method: str,
        token: str,
        is_original: bool,
        body: dict[str, Any],
        files: dict[str, bytes],
    ) -> web.Response:
        state = self._state_for_token(token)
        if state is None or state.callback is None:
            self.protocol_errors.append(f"webhook {method} before the interaction was answered")
            return web.json_response(payloads.error("Unknown Webhook", 10015), status=404)
        message = payloads.message(0, body)
        message["attachments"] = [
            payloads.attachment(i, name, len(data), self.url)
            for i, (name, data) in enumerate(files.items())
        ]
        stored = {**body, "attachments": message["attachments"]}
        if is_original and method == "PATCH":
            state.original = stored
        elif not is_original and method == "POST":
            state.followups.append(stored)
        elif is_original and method == "GET":
            return web.json_response(message)
        elif is_original and method == "DELETE":
            state.original = None
            state.deleted = True
            state.changed.set()
            return web.Response(status=204)
        else:
            return web.json_response(payloads.error("405: Method Not Allowed", 0), status=405)
        state.changed.set()
        return web.json_response(message)

    # -- gateway ----------------------------------------------------------------------------
    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch to every session (queued for the resume when it is disconnected)."""
        for session in self._sessions.values():
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            if session.send is not None:
                session.send(payload)
            else:
                session.missed.append(payload)

    def send_op(self, op: int, data: Any = None) -> None:
        """Send a non-dispatch op (7 RECONNECT, 9 INVALID SESSION) to every live connection."""
        for session in self._sessions.values():
            if session.send is not None:
                session.send({"op": op, "d": data})

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection abruptly (4000 lets the client resume)."""
        for session in self._sessions.values():
            ws = session.ws
            session.ws = None
            session.send = None
            if ws is not None and not ws.closed:
                await ws.close(code=code, message=b"fake drop")
        self._notify()

    @property
    def is_gateway_connected(self) -> bool:
        """True while some session has a live connection that finished IDENTIFY or RESUME."""
        return any(s.send is not None for s in self._sessions.values())

    @property
    def presences(self) -> list[dict[str, Any]]:
        """Every presence (op 3) and the presence sent in IDENTIFY, in order."""
        found = []
        for payload in self.gateway_received:
            if payload.get("op") == 3:
                found.append(payload["d"])
            elif payload.get("op") == 2 and payload["d"].get("presence"):
                found.append(payload["d"]["presence"])
        return found

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        mode = request.query.get("compress", "none")
        self.compressions.append(mode)
        lock = asyncio.Lock()
        encoder = _Encoder(mode)
        pending: set[asyncio.Task[None]] = set()

        async def send_now(payload: dict[str, Any]) -> None:
            async with lock:
                if ws.closed:
                    return
                frame = encoder.encode(json.dumps(payload).encode())
                with contextlib.suppress(ConnectionError, RuntimeError):
                    if isinstance(frame, str):
                        await ws.send_str(frame)
                    else:
                        await ws.send_bytes(frame)

        def send(payload: dict[str, Any]) -> None:
            task = asyncio.get_running_loop().create_task(send_now(payload))
            pending.add(task)
            task.add_done_callback(pending.discard)

        await send_now({"op": 10, "d": {"heartbeat_interval": 41250}})
        session: _Session | None = None
        try:
            async for frame in ws:
                if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                payload = json.loads(frame.data)
                self.gateway_received.append(payload)
                op = payload.get("op")
                if op == 1:
                    send({"op": 11})
                elif op == 2:
                    self.identifies += 1
                    encoder.payload_zlib = bool(payload["d"].get("compress"))
                    session = _Session(f"fake-session-{next(self._session_ids)}")
                    self._sessions[session.id] = session
                    session.ws, session.send = ws, send
                    session.seq += 1
                    await send_now(
                        {
                            "op": 0,
                            "t": "READY",
                            "s": session.seq,
                            "d": payloads.ready(session.id, self.gateway_url),
                        }
                    )
                elif op == 6:
                    self.resumes += 1
                    session = self._sessions.get(payload["d"]["session_id"])
                    if session is None:
                        send({"op": 9, "d": False})
                    else:
                        session.ws, session.send = ws, send
                        for missed in session.missed:
                            await send_now(missed)
                        session.missed.clear()
                        session.seq += 1
                        await send_now({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
                self._notify()
        finally:
            if session is not None and session.ws is ws:
                session.ws = None
                session.send = None
            for task in list(pending):
                task.cancel()
            self._notify()
        return ws


class _Encoder:
    """Frames for one connection in the compression mode the client asked for."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.payload_zlib = False
        self._zlib = zlib.compressobj() if mode == "zlib-stream" else None
        self._zstd: Any = None
        if mode == "zstd-stream":
            from backports.zstd import ZstdCompressor  # noqa: PLC0415

            self._zstd = ZstdCompressor()

    def encode(self, raw: bytes) -> bytes | str:
        if self._zlib is not None:
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            # FLUSH_BLOCK, never FLUSH_FRAME: hikari keeps one decompressor per connection.
            data: bytes = self._zstd.compress(raw, mode=self._zstd.FLUSH_BLOCK)
            return data
        if self.payload_zlib:
            return zlib.compress(raw)
        # Without transport compression hikari accepts TEXT frames only.
        return raw.decode()


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    if request.content_type.startswith("multipart/"):
        body: Any = None
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":  # type: ignore[union-attr]
                body = json.loads(await part.read())  # type: ignore[union-attr]
            else:
                files[part.filename or part.name or "file"] = bytes(  # type: ignore[union-attr]
                    await part.read()  # type: ignore[union-attr]
                )
        return body, files
    raw = await request.read()
    if not raw:
        return None, files
    try:
        return json.loads(raw), files
    except ValueError:
        return raw.decode(errors="replace"), files
