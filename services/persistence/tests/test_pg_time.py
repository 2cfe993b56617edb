"""The remembering time codecs send and read exactly what asyncpg's own codecs do."""

# ruff: noqa: DTZ001, DTZ901 - naive times are part of what is compared

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.pg_time import use_remembering_time_codecs

pytestmark = pytest.mark.postgres

_ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))]

_AWARE = [
    datetime(2026, 11, 27, 19, 0, 1, 123456, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=5, minutes=45))),
]
_NAIVE = [
    datetime(2026, 11, 27, 19, 0, 1, 123456),
    datetime(1970, 1, 1),
    datetime(1999, 12, 31, 23, 59, 59, 999999),
    datetime.max,
    datetime.min,
]


@pytest.fixture(name="conns")
async def _conns(database_url: str):
    """(asyncpg's codecs, the remembering codecs) on two connections."""
    plain = await asyncpg.connect(database_url)
    remembering = await asyncpg.connect(database_url)
    await use_remembering_time_codecs(remembering)
    try:
        yield plain, remembering
    finally:
        await plain.close()
        await remembering.close()


async def _both(conns, query: str, *args):
    """The query's value on each connection, or the type of the error it raised."""
    results = []
    for conn in conns:
        try:
            results.append(await conn.fetchval(query, *args))
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            TypeError,
            ValueError,
            OverflowError,
        ) as exc:
            results.append(type(exc))
    return results


class TestRememberingTimeCodecs:
    @pytest.mark.parametrize("sql_type", ["timestamptz", "timestamp"])
    async def test_every_kind_of_value_is_sent_as_asyncpg_sends_it(self, conns, sql_type):
        """Aware, naive, infinite values and dates reach Postgres as the same text (or error)."""
        values = [*_AWARE, *_NAIVE, date(2026, 11, 27), "not a time"]
        for value in values * 2:  # the second round is answered from memory
            plain, remembering = await _both(conns, f"SELECT $1::{sql_type}::text", value)
            assert remembering == plain, value

    @pytest.mark.parametrize("sql_type", ["timestamptz", "timestamp"])
    async def test_values_read_back_are_asyncpg_s(self, conns, sql_type):
        """Stored text read as a time gives equal values of the same zone on both connections."""
        for text in [
            "2026-11-27 19:00:01.123456+00",
            "1999-12-31 23:59:59.999999+00",
            "0001-01-01 00:00:00+00",
            "4713-01-01 00:00:00+00 BC",
            "294276-12-31 23:59:59+00",
            "infinity",
            "-infinity",
        ]:
            plain, remembering = await _both(conns, f"SELECT $1::text::{sql_type}", text)
            assert remembering == plain, text
            if isinstance(plain, datetime):
                assert remembering.tzinfo == plain.tzinfo, text

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(
        when=st.datetimes(
            min_value=datetime(1, 1, 2),
            max_value=datetime(9999, 12, 30),
            timezones=st.sampled_from(_ZONES),
        )
    )
    async def test_any_aware_time_round_trips_as_with_asyncpg(self, conns, when):
        """Any aware time is stored and read back identically through either codec."""
        plain, remembering = await _both(conns, "SELECT $1::timestamptz", when)
        assert remembering == plain == when
