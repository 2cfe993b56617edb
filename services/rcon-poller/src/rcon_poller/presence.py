"""Feeding the leave reconciler from the events stream.

For a server this replica works, :class:`PresenceFeed` reads every ``join``, ``leave`` and
server start/stop event of that server from the start of the events stream (ordered push
consumers, nothing durable to clean up) into the worker's
:class:`~rcon_poller.reconcile.Reconciler`, then keeps following. The reconciler orders logged
events by log position, so the subscriptions may interleave freely. Reconciliation waits
until the history up to the moment of subscribing has been read (``is_ready``), or it would
"find" every player the replay had not reached yet.
"""

from __future__ import annotations

import asyncio

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from common.contracts import GameEvent, decode_events
from common.errors import InvalidMessage
from common.topology import Topology
from rcon_poller.reconcile import JOIN, LEAVE, Reconciler

SERVER_RESETS = ("server_start", "server_stopping", "server_stopped")
"""Lines that end every session (persistence.sessions): they clear the log's view too."""

log = structlog.get_logger()


class PresenceFeed:
    """Join/leave history and live events of one server, into its reconciler."""

    def __init__(
        self, js: JetStreamContext, topology: Topology, tag: str, reconciler: Reconciler
    ) -> None:
        self._js = js
        self._topology = topology
        self._tag = tag
        self._reconciler = reconciler
        self._subscriptions: list[object] = []
        self._waiting: dict[str, int] = {}
        self.ready = asyncio.Event()

    @property
    def is_ready(self) -> bool:
        """The history up to the subscription has been read."""
        return self.ready.is_set()

    async def start(self) -> None:
        """Subscribe to joins, leaves and start/stop lines from the start of the stream."""
        for event_type in (JOIN, LEAVE, *SERVER_RESETS):
            subject = self._topology.event_subject(self._tag, event_type)
            try:
                last = await self._js.get_last_msg(self._topology.events_stream, subject)
                self._waiting[subject] = last.seq or 0
            except NotFoundError:
                self._waiting[subject] = 0
            sub = await self._js.subscribe(
                subject,
                cb=self._on_message,
                ordered_consumer=True,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
            self._subscriptions.append(sub)
        self._check_ready()

    async def stop(self) -> None:
        """Unsubscribe."""
        for sub in self._subscriptions:
            await sub.unsubscribe()  # type: ignore[attr-defined]
        self._subscriptions.clear()

    async def _on_message(self, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        try:
            events = decode_events(msg.data, subject=msg.subject)
        except InvalidMessage as exc:
            log.warning("presence_event_unreadable", subject=msg.subject, error=str(exc))
        else:
            for event in events:
                if not isinstance(event, GameEvent):
                    continue
                source = event.source
                if event.type in SERVER_RESETS:
                    if source is not None:
                        self._reconciler.observe_server_event(
                            source.sort_key(), file_id=source.file_id
                        )
                elif event.player:
                    self._reconciler.observe_event(
                        event.type,
                        event.player,
                        sequence=sequence,
                        position=source.sort_key() if source else None,
                        file_id=source.file_id if source else "",
                    )
        waiting = self._waiting.get(msg.subject)
        if waiting is not None and sequence >= waiting:
            self._waiting[msg.subject] = 0
            self._check_ready()

    def _check_ready(self) -> None:
        if not self.ready.is_set() and all(v == 0 for v in self._waiting.values()):
            self.ready.set()
