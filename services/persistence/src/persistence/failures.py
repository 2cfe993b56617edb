"""Sorting database errors into "try again later" and "this row can never be written" (pure)."""

from __future__ import annotations

import asyncpg

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57014 cancel
    asyncpg.exceptions.InsufficientResourcesError,  # 53xxx: too many connections, disk full
)

_POISON_CLASSES = frozenset({"22", "23", "54"})
"""SQLSTATE classes a retry cannot fix: data exception, integrity violation, program limit."""

_NO_PARTITION = "no partition of relation"


def is_unavailable(exc: BaseException) -> bool:
    """True when the database could not be reached or went away (retry after a backoff)."""
    return isinstance(exc, _UNAVAILABLE) and not is_poison(exc)


def is_missing_partition(exc: BaseException) -> bool:
    """True when a row had no partition to go to (it was dropped meanwhile: create, retry)."""
    return isinstance(exc, asyncpg.PostgresError) and _NO_PARTITION in str(exc)


def is_poison(exc: BaseException) -> bool:
    """True when the rows themselves are at fault (a NUL byte, an out-of-range number...).

    Besides SQLSTATE classes Postgres returns, asyncpg refuses some values before they are
    sent: ``OverflowError`` (an integer beyond the column's width) and ``DataError`` (a value
    of the wrong shape for its column; an ``InterfaceError`` subclass, so this is checked
    before :func:`is_unavailable`).
    """
    if isinstance(exc, OverflowError | asyncpg.DataError):
        return True
    if not isinstance(exc, asyncpg.PostgresError) or is_missing_partition(exc):
        return False
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate[:2] in _POISON_CLASSES


def describe(exc: BaseException) -> str:
    """One line naming the error, for logs and dead-letter reasons."""
    sqlstate = getattr(exc, "sqlstate", None)
    code = f" [{sqlstate}]" if sqlstate else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{code}: {text}" if text else f"{type(exc).__name__}{code}"
