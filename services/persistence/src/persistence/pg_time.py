"""Binary codecs for ``timestamptz`` and ``timestamp`` that remember what they encoded.

asyncpg's own encoder does the same arithmetic for every value it sends: compare with its
infinity, convert to UTC, subtract the epoch, split the difference. Every event row carries two
times, and in a batch almost all of them repeat (the events of one parsed batch share their
``observed_at``, a burst's lines share their second), so remembering the eight bytes of each
recently encoded time cuts asyncpg's encoding work per row by about half (docs/performance.md).

The values on the wire are exactly asyncpg's: a timestamp is microseconds since 2000-01-01 as a
big-endian int64 (a ``timestamptz`` counted in UTC, a naive ``datetime`` taken as local time as
asyncpg does), and asyncpg's stand-ins for infinity (``datetime.max`` / ``datetime.min``, naive)
map to Postgres' infinities both ways. A test holds both directions to asyncpg's own codecs
against a real Postgres.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import asyncpg

from persistence.remembering import remember

_EPOCH_UTC: Final = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH: Final = datetime(2000, 1, 1)  # noqa: DTZ001 - the epoch of naive timestamp
_INFINITY: Final = datetime.max  # noqa: DTZ901 - naive, as asyncpg's
_NEGATIVE_INFINITY: Final = datetime.min  # noqa: DTZ901
_INFINITY_BYTES: Final = (2**63 - 1).to_bytes(8, "big", signed=True)
_NEGATIVE_INFINITY_BYTES: Final = (-(2**63)).to_bytes(8, "big", signed=True)
# asyncpg sends Postgres' infinities for the times of datetime.max and datetime.min.
_INFINITY_US: Final = 252_455_615_999_999_999
_NEGATIVE_INFINITY_US: Final = -63_082_281_600_000_000
_ENCODED_TZ: dict[datetime, bytes] = {}
_ENCODED_NAIVE: dict[datetime, bytes] = {}


def _microseconds(delta: timedelta) -> bytes:
    us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if us == _INFINITY_US:
        return _INFINITY_BYTES
    if us == _NEGATIVE_INFINITY_US:
        return _NEGATIVE_INFINITY_BYTES
    return us.to_bytes(8, "big", signed=True)


def _as_datetime(value: object, *, local: bool) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):  # as asyncpg: a date is its midnight
        midnight = datetime(value.year, value.month, value.day)  # noqa: DTZ001
        return midnight.astimezone() if local else midnight
    raise TypeError(
        f"expected a datetime.date or datetime.datetime instance, got {type(value).__name__!r}"
    )


def encode_timestamptz(value: datetime) -> bytes:
    """The binary ``timestamptz`` of ``value`` (naive: local time)."""
    # Only aware values are remembered, and a date or naive value never equals one.
    encoded = _ENCODED_TZ.get(value)
    if encoded is not None:
        return encoded
    value = _as_datetime(value, local=True)
    if value == _INFINITY:  # naive, as asyncpg compares: an aware value never equals these
        return _INFINITY_BYTES
    if value == _NEGATIVE_INFINITY:
        return _NEGATIVE_INFINITY_BYTES
    encoded = _microseconds(value.astimezone(UTC) - _EPOCH_UTC)
    if value.tzinfo is None:  # a naive value's meaning depends on the local zone
        return encoded
    return remember(_ENCODED_TZ, value, encoded)


def _decoded(data: bytes, epoch: datetime) -> datetime:
    if data == _INFINITY_BYTES:
        return _INFINITY
    if data == _NEGATIVE_INFINITY_BYTES:
        return _NEGATIVE_INFINITY
    return epoch + timedelta(microseconds=int.from_bytes(data, "big", signed=True))


def decode_timestamptz(data: bytes) -> datetime:
    """The aware UTC ``datetime`` of a binary ``timestamptz``."""
    return _decoded(data, _EPOCH_UTC)


def encode_timestamp(value: datetime) -> bytes:
    """The binary ``timestamp`` of naive ``value`` (aware values are refused, as by asyncpg)."""
    # Only naive values are remembered, and an aware value or a date never equals one.
    encoded = _ENCODED_NAIVE.get(value)
    if encoded is not None:
        return encoded
    value = _as_datetime(value, local=False)
    return remember(_ENCODED_NAIVE, value, _microseconds(value - _EPOCH))  # aware: TypeError


def decode_timestamp(data: bytes) -> datetime:
    """The naive ``datetime`` of a binary ``timestamp``."""
    return _decoded(data, _EPOCH)


async def use_remembering_time_codecs(conn: asyncpg.Connection) -> None:
    """Make ``conn`` encode and decode ``timestamptz`` and ``timestamp`` with this module."""
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="binary",
    )
    await conn.set_type_codec(
        "timestamp",
        schema="pg_catalog",
        encoder=encode_timestamp,
        decoder=decode_timestamp,
        format="binary",
    )
