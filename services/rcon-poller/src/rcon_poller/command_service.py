"""The request/reply handler of ``isr.rcon.<server>.<caller>``: decode, perform, reply, audit.

Only the replica holding a server's lease subscribes to its requests (``isr.rcon.<server>.*``,
in the ``rcon-poller`` queue group, so a brief overlap at handover still delivers each request
once). The caller is the subject's last token: the NATS identity of the service that asked,
which the authorisation config lets no service forge (``bot`` may publish only
``isr.rcon.*.bot``). A caller that is not a :class:`~common.vocabulary.Caller` is answered
``unknown_caller`` and nothing is sent to the game.

Each request runs in its own task, so a long save does not hold up a ``players`` query. Every
request gets exactly one :class:`~common.contracts.RconReply`: a structured result, or an error
with a code. A request that does not decode is answered ``invalid_request`` naming what was
wrong. Each request is logged with its operation, its caller, its requester and its outcome;
the raw parameters are not logged beyond the operation name. Every operation that changes the
game (:func:`~common.contracts.rcon.is_audited`) is also published, after the reply, as an
:class:`~common.contracts.AuditRecord` on ``isr.audit.<server>`` with ``service`` set to the
caller from the subject (never from the payload) and ``requested_by`` as the caller wrote it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind

from common import tracing
from common.contracts import AuditRecord, RconErrorCode, RconReply, decode_rcon_request
from common.contracts import rcon as c
from common.contracts.audit import result_of
from common.errors import InvalidMessage
from common.internal_errors import report_internal_error
from common.metric_names import Span
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from common.vocabulary import CALLER_NAMES, KNOWN_CALLERS
from rcon_poller.operations import error_for, perform
from rcon_poller.worker import ServerWorker

log = structlog.get_logger()

AUDIT_PUBLISH_TIMEOUT_S = 10.0
"""How long an audit record may wait for JetStream (an outage) before it is logged as lost."""


@dataclass(frozen=True, slots=True)
class Handled:
    """One request's reply, and the request when it decoded."""

    reply: RconReply
    request: c.AnyRconRequest | None = None


def audit_record(
    request: c.AnyRconRequest,
    reply: RconReply,
    *,
    server: str,
    caller: str,
    at: datetime,
    record_id: str,
) -> AuditRecord:
    """The audit record of one operation the poller carried out (or tried to).

    ``service`` is ``caller``, the subject's token; a payload has no field that reaches it
    (an unknown ``service`` key in a request is ignored by the decoder).
    """
    return AuditRecord(
        id=record_id,
        at=at,
        server=server,
        # The bot names the raw operation after its command (``rcon_raw``); one name for both.
        operation="rcon_raw" if request.op == "raw" else request.op,
        parameters=request.model_dump(
            exclude={"v", "op", "request_id", "requested_by"}, mode="json"
        ),
        result=result_of(reply),
        detail=None if reply.error is None else reply.error.message[:2000],
        requested_by=request.requested_by,
        service=caller,
        request_id=request.request_id,
    )


class CommandHandler:
    """Answers the requests for one server."""

    def __init__(self, worker: ServerWorker, *, js: JetStreamContext, topology: Topology) -> None:
        self._worker = worker
        self._js = js
        self._topology = topology
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
        at = datetime.now(UTC)
        if self._topology.is_jetstream_delivery(msg.reply):
            log.warning("rcon_request_refused", subject=msg.subject, reason="jetstream_delivery")
            return
        parts = self._topology.request_parts(msg.subject, "rcon")
        caller = "" if parts is None else parts[1]
        parent = tracing.extract(msg.headers) if tracing.is_sampled(msg.headers) else None
        if parent is None:  # tracing off or unsampled: no span work
            handled = await self.handle(msg.data, caller=caller, subject=msg.subject)
        else:
            # Server and caller only, never the command: it may carry user text or secrets.
            attributes = {"server": self._worker.tag, "caller": caller}
            with (
                tracing.messaging_span("process", msg.subject, parent=parent, server=True),
                tracing.span(Span.RCON_COMMAND, kind=SpanKind.CLIENT, attributes=attributes) as rc,
            ):
                handled = await self.handle(msg.data, caller=caller, subject=msg.subject)
                if handled.request is not None:
                    rc.set_attribute("operation", type(handled.request).__name__)
        if msg.reply:
            try:
                await msg.respond(handled.reply.to_json())
            except Exception as exc:  # the connection dropped: the caller times out
                log.warning("rcon_reply_failed", server=self._worker.tag, error=repr(exc))
        if handled.request is not None and c.is_audited(handled.request):
            record = audit_record(
                handled.request,
                handled.reply,
                server=self._worker.tag,
                caller=caller,
                at=at,
                record_id=f"rcon:{self._worker.tag}:{uuid.uuid4().hex}",
            )
            await self._publish_audit(record)

    async def _publish_audit(self, record: AuditRecord) -> None:
        outgoing = Outgoing(
            self._topology.audit_subject(record.server), record.to_json(), record.id
        )
        try:
            async with asyncio.timeout(AUDIT_PUBLISH_TIMEOUT_S):
                await publish_confirmed(self._js, [outgoing])
        except Exception as exc:  # NATS away for longer than the timeout
            log.error(
                "audit_publish_failed",
                server=record.server,
                record=record.id,
                operation=record.operation,
                service=record.service,
                requested_by=record.requested_by,
                error=repr(exc),
            )

    async def handle(self, data: bytes, *, caller: str, subject: str = "") -> Handled:
        """Decode and perform one request from ``caller`` (the subject's token); never raises."""
        tag = self._worker.tag
        started = time.perf_counter()
        if caller not in KNOWN_CALLERS:
            log.warning("rcon_request_unknown_caller", server=tag, caller=caller, subject=subject)
            message = (
                f"unknown caller {caller!r}: RCON requests go to "
                f"{self._topology.prefix}.rcon.<server>.<caller>, caller one of {CALLER_NAMES}"
            )
            return Handled(
                RconReply(
                    server=tag,
                    op="?",
                    ok=False,
                    error=c.RconError(code=RconErrorCode.UNKNOWN_CALLER, message=message),
                )
            )
        try:
            request = decode_rcon_request(data, subject=subject)
        except InvalidMessage as exc:
            log.info("rcon_request_invalid", server=tag, caller=caller, reason=exc.reason)
            return Handled(
                RconReply(
                    server=tag,
                    op="?",
                    ok=False,
                    error=c.RconError(code=RconErrorCode.INVALID_REQUEST, message=exc.reason),
                )
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
            caller=caller,
            requested_by=request.requested_by,
            request_id=request.request_id,
            ok=reply.ok,
            error=None if reply.error is None else reply.error.code.value,
            elapsed_ms=reply.elapsed_ms,
        )
        return Handled(reply, request)
