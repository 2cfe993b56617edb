"""The query API's NATS shell: ``<prefix>.query.*.*`` in a queue group, one task per request.

A request's subject is ``<prefix>.query.<name>.<caller>``: the caller is the NATS identity of
the service that asked (``bot``, ``web``: :class:`~common.vocabulary.Caller`), which the
authorisation config lets no service forge. Each answered query is logged with its caller.
Every request gets exactly one answer: the reply model, or a :class:`QueryError` (also named
in the ``Nats-Service-Error`` / ``Nats-Service-Error-Code`` headers) when the caller or the
query is unknown, the request does not fit its model, the database is unreachable or the query
ran too long.
Nothing a client sends can crash the service. Replicas share the queue group, so each request
is answered once; up to ``query_concurrency`` requests run at once per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import ValidationError

from common import tracing
from common.contracts import (
    QUERIES,
    QueryError,
    QueryErrorCode,
    QueryName,
    QueryReply,
)
from common.contracts._base import _summarise
from common.internal_errors import report_internal_error
from common.topology import Topology
from common.vocabulary import CALLER_NAMES, KNOWN_CALLERS
from persistence import failures
from persistence.history import QueryFunction
from persistence.resolution import ResolutionError

log = structlog.get_logger()


class QueryHandler:
    """Turns a query name and request bytes into a reply or an error (no NATS involved)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        functions: dict[QueryName, QueryFunction],
        *,
        timeout_s: float,
    ) -> None:
        self._pool = pool
        self._functions = functions
        self._timeout_s = timeout_s

    async def answer(  # noqa: PLR0911 - one return per documented outcome
        self, name: str, data: bytes
    ) -> QueryReply | QueryError:
        """Answer one request."""
        try:
            query = QueryName(name)
        except ValueError:
            known = ", ".join(q.value for q in QueryName)
            return QueryError(
                code=QueryErrorCode.UNKNOWN_QUERY, message=f"unknown query {name!r}; known: {known}"
            )
        request_type, _ = QUERIES[query]
        try:
            request = request_type.model_validate_json(data or b"{}")
        except ValidationError as exc:
            return QueryError(
                code=QueryErrorCode.BAD_REQUEST, message=f"{query.value}: {_summarise(exc)}"
            )
        try:
            async with asyncio.timeout(self._timeout_s), self._pool.acquire() as conn:
                return await self._functions[query](conn, request)
        except ResolutionError as exc:
            return QueryError(code=QueryErrorCode.BAD_REQUEST, message=f"{query.value}: {exc}")
        except TimeoutError:
            return QueryError(
                code=QueryErrorCode.TIMEOUT,
                message=f"{query.value} took longer than {self._timeout_s:g} s",
            )
        except Exception as exc:
            if failures.is_unavailable(exc):
                return QueryError(
                    code=QueryErrorCode.UNAVAILABLE,
                    message=f"database unavailable ({failures.describe(exc)}); try again later",
                )
            report_internal_error(exc, f"persistence.query.{query.value}")
            return QueryError(
                code=QueryErrorCode.INTERNAL, message=f"{query.value} failed; see the logs"
            )


class QueryServer:
    """Subscribes to every query subject and answers each request in its own task."""

    def __init__(
        self,
        nc: NatsClient,
        topology: Topology,
        handler: QueryHandler,
        *,
        queue_group: str,
        concurrency: int,
    ) -> None:
        self._nc = nc
        self._topology = topology
        self._handler = handler
        self._queue_group = queue_group
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _on_request(self, msg: Msg) -> None:
        task = asyncio.create_task(self._traced(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _traced(self, msg: Msg) -> None:
        with tracing.serving(msg):
            await self._respond(msg)

    async def _respond(self, msg: Msg) -> None:
        started = time.perf_counter()
        if self._topology.is_jetstream_delivery(msg.reply):
            log.warning("query_refused", subject=msg.subject, reason="jetstream_delivery")
            return
        parts = self._topology.request_parts(msg.subject, "query")
        name, caller = parts if parts is not None else ("?", "")
        if caller not in KNOWN_CALLERS:
            answer: QueryReply | QueryError = QueryError(
                code=QueryErrorCode.UNKNOWN_CALLER,
                message=(
                    f"unknown caller {caller!r} in {msg.subject!r}: queries go to "
                    f"{self._topology.prefix}.query.<name>.<caller>, caller one of "
                    f"{CALLER_NAMES}"
                ),
            )
        else:
            async with self._slots:
                answer = await self._handler.answer(name, msg.data)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if not msg.reply:
            return
        headers = None
        if not isinstance(answer, QueryError):
            log.info("query", query=name, caller=caller, elapsed_ms=elapsed_ms)
        else:
            log.info(
                "query_refused",
                query=name,
                caller=caller,
                code=answer.code.value,
                message=answer.message,
                elapsed_ms=elapsed_ms,
            )
            headers = {
                "Nats-Service-Error": answer.message.replace("\r", " ").replace("\n", " "),
                "Nats-Service-Error-Code": str(answer.http_like_code),
            }
        try:
            await self._nc.publish(msg.reply, answer.to_json(), headers=headers)
        except Exception as exc:  # the client went away or NATS is reconnecting
            log.warning("query_reply_failed", query=name, caller=caller, error=repr(exc))

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then let the requests in hand finish."""
        sub = await self._nc.subscribe(
            self._topology.query_filter(), queue=self._queue_group, cb=self._on_request
        )
        log.info("query_api_started", subject=self._topology.query_filter())
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10.0)
