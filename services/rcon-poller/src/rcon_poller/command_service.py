"""The request/reply handler of ``isr.rcon.<server>``: decode, perform, reply, audit.

Only the replica holding a server's lease subscribes to its subject (in the ``rcon-poller``
queue group, so a brief overlap at handover still delivers each request once). Each request
runs in its own task, so a long save does not hold up a ``players`` query. Every request gets
exactly one :class:`~common.contracts.RconReply`: a structured result, or an error with a code.
A request that does not decode is answered ``invalid_request`` naming what was wrong. Each
request is logged with its operation, its requester and its outcome (an audit trail of every
privileged action); the raw parameters are not logged beyond the operation name.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from nats.aio.msg import Msg

from common.contracts import RconErrorCode, RconReply, decode_rcon_request
from common.contracts import rcon as c
from common.errors import InvalidMessage
from common.internal_errors import report_internal_error
from rcon_poller.operations import error_for, perform
from rcon_poller.worker import ServerWorker

log = structlog.get_logger()


class CommandHandler:
    """Answers the requests for one server."""

    def __init__(self, worker: ServerWorker) -> None:
        self._worker = worker
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_message(self, msg: Msg) -> None:
        """The subscription callback: start the request and return at once."""
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the requests in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _answer(self, msg: Msg) -> None:
        reply = await self.handle(msg.data, subject=msg.subject)
        if msg.reply:
            try:
                await msg.respond(reply.to_json())
            except Exception as exc:  # the connection dropped: the caller times out
                log.warning("rcon_reply_failed", server=self._worker.tag, error=repr(exc))

    async def handle(self, data: bytes, *, subject: str = "") -> RconReply:
        """Decode and perform one request; never raises."""
        tag = self._worker.tag
        started = time.perf_counter()
        try:
            request = decode_rcon_request(data, subject=subject)
        except InvalidMessage as exc:
            log.info("rcon_request_invalid", server=tag, reason=exc.reason)
            return RconReply(
                server=tag,
                op="?",
                ok=False,
                error=c.RconError(code=RconErrorCode.INVALID_REQUEST, message=exc.reason),
            )
        is_long = isinstance(request, c.SaveRequest)
        if is_long:
            self._worker.begin_long_op()
        try:
            result = await perform(request, self._worker.operation_context())
        except Exception as exc:
            error = error_for(exc)
            if error is None:
                report_internal_error(exc, f"rcon-poller {request.op} on {tag}")
                error = c.RconError(
                    code=RconErrorCode.INTERNAL, message="the poller failed; see its log"
                )
            reply = RconReply(
                server=tag, op=request.op, request_id=request.request_id, ok=False, error=error
            )
        else:
            reply = RconReply(
                server=tag, op=request.op, request_id=request.request_id, ok=True, result=result
            )
        finally:
            if is_long:
                self._worker.end_long_op()
        elapsed_ms = (time.perf_counter() - started) * 1000
        reply = reply.model_copy(update={"elapsed_ms": round(elapsed_ms, 1)})
        log.info(
            "rcon_request",
            server=tag,
            op=request.op,
            requested_by=request.requested_by,
            request_id=request.request_id,
            ok=reply.ok,
            error=None if reply.error is None else reply.error.code.value,
            elapsed_ms=reply.elapsed_ms,
        )
        return reply
