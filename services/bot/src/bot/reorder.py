"""The per-server reorder window: events leave in log order even when they arrive out of it.

Several parser workers publish the events of one server concurrently, so the bot may receive a
later line's event a few milliseconds before an earlier one. Each event waits ``window_s`` after
it arrived; when an event's time is up, it and every held event of the same server that sorts
before it leave together, in source order. An event that arrives after a later one already left
(beyond the window) is released at once and counted as late: it is never dropped.
Events without a source position (alerts, synthesised events) are not held.

The wait is skipped when it cannot help: an event whose line starts right where the last
released line of its server ended (``end`` + 1 or + 2 for the line terminator) is next in the
log, so it leaves at once. Only an event after a gap (a line that made no event, or the first
event seen) waits the window.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
SortKey = tuple[int, int]
"""(generation, offset): :meth:`common.contracts.SourcePosition.sort_key`."""


@dataclass(order=True)
class _Held(Generic[T]):
    key: SortKey
    seq: int
    arrived: float = field(compare=False)
    value: T = field(compare=False)
    end: int | None = field(compare=False, default=None)


class ReorderWindow(Generic[T]):
    """Holds values per server for ``window_s`` seconds and releases them in key order."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._heaps: dict[str, list[_Held[T]]] = {}
        self._released_key: dict[str, SortKey] = {}
        self._released_end: dict[str, tuple[int, int]] = {}
        self._immediate: list[T] = []
        self._seq = itertools.count()
        self.late = 0
        """Events that arrived after a later event of their server had left."""

    def __len__(self) -> int:
        return len(self._immediate) + sum(len(h) for h in self._heaps.values())

    def add(
        self, server: str, key: SortKey | None, value: T, *, now: float, end: int | None = None
    ) -> None:
        """Hold ``value`` (or queue it for immediate release when it has no key or is late).

        ``end`` is the byte offset where the event's line ends (offset + its UTF-8 length),
        when known; it lets the next line's event skip the wait.
        """
        last = self._released_key.get(server)
        if key is None:
            self._immediate.append(value)
            return
        if last is not None and key <= last:
            self.late += 1
            self._immediate.append(value)
            return
        held = _Held(key, next(self._seq), now, value, end)
        heapq.heappush(self._heaps.setdefault(server, []), held)

    def next_due(self) -> float | None:
        """When the next value becomes releasable (``-inf`` when some already is)."""
        if self._immediate or any(
            heap and self._is_next(server, heap[0].key) for server, heap in self._heaps.items()
        ):
            return float("-inf")
        arrivals = [h.arrived for heap in self._heaps.values() for h in heap]
        return min(arrivals) + self.window_s if arrivals else None

    def release(self, *, now: float) -> list[T]:
        """Every value whose time is up, plus those sorting before one, in order per server."""
        out, self._immediate = self._immediate, []
        for server, heap in self._heaps.items():
            due = [h.key for h in heap if h.arrived + self.window_s <= now]
            limit = max(due) if due else None
            while heap and (
                (limit is not None and heap[0].key <= limit) or self._is_next(server, heap[0].key)
            ):
                held = heapq.heappop(heap)
                out.append(held.value)
                self._released_key[server] = held.key
                if held.end is None:
                    self._released_end.pop(server, None)
                else:
                    self._released_end[server] = (held.key[0], held.end)
        return out

    def _is_next(self, server: str, key: SortKey) -> bool:
        end = self._released_end.get(server)
        return end is not None and key[0] == end[0] and key[1] - end[1] in (1, 2)
