"""Leave (and join) reconciliation: the log's view of who is online against RCON's. Pure.

Factorio does not always log ``[LEAVE]`` (a crash, a kick, a dropped connection; facts §3.3),
and a ``[JOIN]`` can be lost with a log file. :class:`Reconciler` keeps the log's view: the
set of players whose last ``join``/``leave`` event on the events stream was a join. Each metric
sample brings RCON's view (``/players online``). A player online in one view and not in the
other for at least ``grace_s`` (the time the log pipeline may take to deliver the event) gets a
synthesised ``leave`` or ``join``, flagged ``reconciled``, and the log's view is corrected.

Ids are stable: ``<server>:reconciled:<type>:<player digest>:<sequence>`` where ``sequence`` is
the stream sequence of the player's last join/leave event (0 if none), so a poller that replays
the stream after a restart computes the same ids and JetStream drops the repeats.

Server start and stop lines end every session (persistence.sessions), so they clear the log's
view too: a server that stopped with players online needs no reconciled leaves. Each
synthesised event carries ``after``, the latest log position the view was built from; persistence
places it right after that line, which is where the correction belongs in the log's order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from common.vocabulary import EventFlag

JOIN = "join"
LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class ReconciledEvent:
    """A join or leave the log missed."""

    id: str
    type: str
    player: str
    after: tuple[str, int, int] | None = None
    """(file id, generation, offset) of the latest logged event the view had applied."""


class Reconciler:
    """The log's view of one server's online players, corrected by RCON's."""

    def __init__(self, server: str, *, grace_s: float) -> None:
        self.server = server
        self.grace_s = grace_s
        self._online: set[str] = set()
        self._last_seq: dict[str, int] = {}
        self._last_position: dict[str, tuple[int, int]] = {}
        self._reconciled_seq: dict[str, int] = {}
        self._mismatch_since: dict[tuple[str, str], datetime] = {}
        self._latest: tuple[int, int, str] | None = None
        """(generation, offset, file id) of the latest logged event applied."""
        self._last_reset: tuple[int, int] | None = None
        """Position of the latest server start/stop line."""

    @property
    def log_online(self) -> frozenset[str]:
        """Players the log says are online."""
        return frozenset(self._online)

    def observe_event(
        self,
        event_type: str,
        player: str,
        *,
        sequence: int,
        position: tuple[int, int] | None = None,
        file_id: str = "",
    ) -> None:
        """A join or leave from the events stream (ours included).

        ``sequence`` is the stream sequence of the message that carried it, ``position`` the
        log position (generation, offset) of a logged event; reconciled events have none.
        Logged events are ordered by position: the events of one raw batch arrive as one
        message per type (a batch of joins, then one of leaves), so the stream order alone
        would put a player's leave after a rejoin logged later. Reconciled events are ordered
        by sequence, and a logged event carried before the last reconciled one is older.
        """
        last_seq = self._last_seq.get(player, 0)
        if position is None:
            if sequence <= last_seq:
                return
            self._reconciled_seq[player] = sequence
        else:
            last_position = self._last_position.get(player)
            if last_position is not None and position <= last_position:
                return
            if sequence < self._reconciled_seq.get(player, 0):
                return
            self._last_position[player] = position
            self._note_position(position, file_id)
            if self._last_reset is not None and position < self._last_reset:
                # Logged before a start/stop line this view has already applied: that line
                # ended whatever this event began.
                self._last_seq[player] = max(sequence, last_seq)
                self._online.discard(player)
                return
        self._last_seq[player] = max(sequence, last_seq)
        if event_type == JOIN:
            self._online.add(player)
        elif event_type == LEAVE:
            self._online.discard(player)

    def observe_server_event(self, position: tuple[int, int], *, file_id: str = "") -> None:
        """A server start or stop line at log ``position``: it ends every session before it."""
        if self._last_reset is None or position > self._last_reset:
            self._last_reset = position
        self._note_position(position, file_id)
        for player in list(self._online):
            last = self._last_position.get(player)
            if last is None or last < position:
                self._online.discard(player)

    def _note_position(self, position: tuple[int, int], file_id: str) -> None:
        if self._latest is None or position > self._latest[:2]:
            self._latest = (*position, file_id)

    @property
    def latest_position(self) -> tuple[str, int, int] | None:
        """(file id, generation, offset) of the latest logged event applied, if any."""
        if self._latest is None:
            return None
        generation, offset, file_id = self._latest
        return (file_id, generation, offset)

    def observe_sample(self, online: Iterable[str], *, now: datetime) -> list[ReconciledEvent]:
        """RCON's list of online players; returns the events to publish."""
        rcon_online = set(online)
        wanted = {(LEAVE, p) for p in self._online - rcon_online}
        wanted |= {(JOIN, p) for p in rcon_online - self._online}
        for key in list(self._mismatch_since):
            if key not in wanted:
                del self._mismatch_since[key]
        events = []
        for key in sorted(wanted):
            since = self._mismatch_since.setdefault(key, now)
            if (now - since).total_seconds() < self.grace_s:
                continue
            event_type, player = key
            events.append(
                ReconciledEvent(
                    self._event_id(event_type, player), event_type, player, self.latest_position
                )
            )
            del self._mismatch_since[key]
            if event_type == JOIN:
                self._online.add(player)
            else:
                self._online.discard(player)
        return events

    def _event_id(self, event_type: str, player: str) -> str:
        digest = hashlib.sha256(player.encode()).hexdigest()[:16]
        sequence = self._last_seq.get(player, 0)
        return f"{self.server}:{EventFlag.RECONCILED}:{event_type}:{digest}:{sequence}"
