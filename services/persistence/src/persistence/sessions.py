"""Player sessions derived from join, leave and server start/stop events (pure).

A session opens at a ``join`` and ends at the first of:

- a ``leave`` of the same player on the same server (``logged``, or ``reconciled`` when the RCON
  poller synthesised the leave because the log never said it);
- a ``server_stopping`` / ``server_stopped`` line (``server_stopped``): a stopping server
  disconnects everybody, whether or not it logs the leaves;
- a ``server_start`` line while the session is still open (``server_restarted``): the server
  crashed or was killed without a stop line, so the session ended at the latest by the restart.

A second ``join`` of a player whose session is open does not open another one (it is the logged
join arriving after the poller's reconciled one, or a leave that was never seen at all); a
``leave`` with no open session is ignored.

Events are applied in :meth:`LifecycleEvent.sort_key` order, which is the **log's order**
(generation, then byte offset), never a clock: two parser workers or a redelivery can hand the
writer a leave before its join, and the leave must still close that join's session. A
synthesised (``reconciled``) event has no line of its own; the RCON poller stamps it with the
log position it was decided against (``GameEvent.after``) and it is applied right after that
line (after the line itself, then by time, then id). Times (``joined_at``, ``left_at``) are the
log's: the line's date (``ts``), or the tailer's read time for a line without a date.

The writer re-derives a server's sessions from the earliest newly stored event's position
onward, starting from the sessions open there (see :mod:`persistence.session_store`), which
makes derivation both order-independent and idempotent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


class EndedBy(enum.StrEnum):
    """How the end of a session was known."""

    LOGGED = "logged"
    """A ``[LEAVE]`` line in the console log."""
    RECONCILED = "reconciled"
    """A leave synthesised by the RCON poller from the online list."""
    SERVER_STOPPED = "server_stopped"
    """The server logged that it was stopping."""
    SERVER_RESTARTED = "server_restarted"
    """The server started again without logging a stop (crash, SIGKILL)."""


JOIN = "join"
LEAVE = "leave"
SERVER_START = "server_start"
SERVER_STOP_TYPES = frozenset({"server_stopping", "server_stopped"})
LIFECYCLE_TYPES: tuple[str, ...] = (JOIN, LEAVE, SERVER_START, *sorted(SERVER_STOP_TYPES))
"""Event types that open or end sessions."""


# Neither class is frozen, though nothing changes one after it is made: a frozen dataclass took
# five times as long to construct (about 1 us), and the writer makes one or two per join or
# leave it stores (docs/performance.md).
@dataclass(slots=True)
class LifecycleEvent:
    """The parts of a stored event that session derivation needs.

    ``generation`` and ``offset`` are the event's log position: its own line's, or for a
    synthesised event the position it was decided against (``GameEvent.after``). ``at`` is
    the event's log time (the line's ``ts``, else the tailer's read time; for a synthesised
    event, when it was made).
    """

    id: str
    type: str
    at: datetime
    player: str | None = None
    is_reconciled: bool = False
    generation: int | None = None
    offset: int | None = None

    def sort_key(self) -> SortKey:
        """Log position first; at one position its line, then synthesised events by time.

        An event without any position sorts before every positioned one, by time: only direct
        callers without log positions (tools, tests) pass such events; the writer never does
        (a synthesised event without ``after`` takes no part in sessions).
        """
        if self.generation is None or self.offset is None:
            return (-1, -1, 0, self.at, self.id)
        return (self.generation, self.offset, 1 if self.is_reconciled else 0, self.at, self.id)


SortKey = tuple[int, int, int, datetime, str]
"""A :meth:`LifecycleEvent.sort_key`: (generation, offset, synthesised, time, id)."""


@dataclass(slots=True)
class Session:
    """One stay of a player on a server; open while ``left_at`` is None."""

    id: str
    """Id of the join event that opened it."""
    server: str
    player: str
    joined_at: datetime
    left_at: datetime | None = None
    ended_by: EndedBy | None = None
    join_reconciled: bool = False
    leave_event_id: str | None = None

    @property
    def is_open(self) -> bool:
        """True while no end is known."""
        return self.left_at is None

    def closed(self, at: datetime, by: EndedBy, event_id: str) -> Session:
        """This session ended at ``at``."""
        # Built directly: dataclasses.replace was a tenth of the writer's session work.
        return Session(
            self.id,
            self.server,
            self.player,
            self.joined_at,
            max(at, self.joined_at),
            by,
            self.join_reconciled,
            event_id,
        )


def derive_sessions(
    server: str,
    events: Iterable[LifecycleEvent],
    *,
    open_at_start: Iterable[Session] = (),
) -> list[Session]:
    """Apply ``events`` to the sessions open before them; return every session touched.

    The result holds each session of ``open_at_start`` (closed by the events, or still open)
    followed by each session the events opened, in the order they opened.
    """
    touched: dict[str, Session] = {}
    open_by_player: dict[str, str] = {}
    for session in sorted(open_at_start, key=lambda s: s.joined_at):
        reopened = Session(
            session.id, session.server, session.player, session.joined_at,
            join_reconciled=session.join_reconciled,
        )  # fmt: skip
        touched[session.id] = reopened
        open_by_player[session.player] = session.id

    def close(session_id: str, at: datetime, by: EndedBy, event_id: str) -> None:
        touched[session_id] = touched[session_id].closed(at, by, event_id)

    for event in sorted(events, key=LifecycleEvent.sort_key):
        if event.type == JOIN and event.player:
            if event.player not in open_by_player:
                touched[event.id] = Session(
                    id=event.id,
                    server=server,
                    player=event.player,
                    joined_at=event.at,
                    join_reconciled=event.is_reconciled,
                )
                open_by_player[event.player] = event.id
        elif event.type == LEAVE and event.player:
            session_id = open_by_player.pop(event.player, None)
            if session_id is not None:
                by = EndedBy.RECONCILED if event.is_reconciled else EndedBy.LOGGED
                close(session_id, event.at, by, event.id)
        elif event.type in SERVER_STOP_TYPES or event.type == SERVER_START:
            by = EndedBy.SERVER_RESTARTED if event.type == SERVER_START else EndedBy.SERVER_STOPPED
            for session_id in open_by_player.values():
                close(session_id, event.at, by, event.id)
            open_by_player.clear()
    return list(touched.values())
