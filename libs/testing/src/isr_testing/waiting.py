"""Waiting on conditions instead of sleeping: every wait has a condition and a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll ``condition`` until it returns something truthy; return it, or fail after timeout.

    The failure message includes the last value seen (or the last exception raised), so a
    timed-out test says what it was waiting for and how far it got.
    """
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        try:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            last = value
        except Exception as exc:  # keep polling; report the last failure on timeout
            last = exc
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout_s:g} s waiting for {what}; last value: {last!r}"
            raise AssertionError(msg)
        await asyncio.sleep(interval_s)
