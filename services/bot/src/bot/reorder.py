"""The per-server reorder window: events leave in log order even when they arrive out of it.

Several parser workers publish the events of one server concurrently, so the bot may receive a
later line's event a few milliseconds before an earlier one. Each event waits ``window_s`` after
it arrived; when an event's time is up, it and every held event of the same server that sorts
before it leave together, in source order. An event that arrives after a later one already left
(beyond the window) is released at once and counted as late: it is never dropped.
Events without a source position (alerts, synthesised events) are not held.
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


class ReorderWindow(Generic[T]):
    """Holds values per server for ``window_s`` seconds and releases them in key order."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._heaps: dict[str, list[_Held[T]]] = {}
        self._released_key: dict[str, SortKey] = {}
        self._immediate: list[T] = []
        self._seq = itertools.count()
        self.late = 0
        """Events that arrived after a later event of their server had left."""

    def __len__(self) -> int:
        return len(self._immediate) + sum(len(h) for h in self._heaps.values())

    def add(self, server: str, key: SortKey | None, value: T, *, now: float) -> None:
        """Hold ``value`` (or queue it for immediate release when it has no key or is late)."""
        last = self._released_key.get(server)
        if key is None:
            self._immediate.append(value)
            return
        if last is not None and key <= last:
            self.late += 1
            self._immediate.append(value)
            return
        heapq.heappush(self._heaps.setdefault(server, []), _Held(key, next(self._seq), now, value))

    def next_due(self) -> float | None:
        """When the next value becomes releasable (``-inf`` when some already is)."""
        if self._immediate:
            return float("-inf")
        arrivals = [h.arrived for heap in self._heaps.values() for h in heap]
        return min(arrivals) + self.window_s if arrivals else None

    def release(self, *, now: float) -> list[T]:
        """Every value whose time is up, plus those sorting before one, in order per server."""
        out, self._immediate = self._immediate, []
        for server, heap in self._heaps.items():
            due = [h.key for h in heap if h.arrived + self.window_s <= now]
            if not due:
                continue
            limit = max(due)
            while heap and heap[0].key <= limit:
                held = heapq.heappop(heap)
                out.append(held.value)
                self._released_key[server] = held.key
        return out
