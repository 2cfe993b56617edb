"""Reading the log's zone-less dates in a server's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from common.contracts import GameEvent, RawLineBatch
from parser.events import events_from_batch
from parser.log_time import LogClock, ServerClocks, clock_for
from parser.patterns.loader import load_patterns

BERLIN = ZoneInfo("Europe/Berlin")


def local(*parts: int) -> datetime:
    """A zone-less wall-clock time, as the log writes it."""
    return datetime(*parts)  # noqa: DTZ001 - the log's local time has no zone


class TestLogClock:
    def test_local_time_becomes_a_utc_instant(self):
        """A winter time in Berlin is one hour ahead of UTC."""
        clock = LogClock(BERLIN)

        assert clock.to_utc(local(2026, 1, 10, 12, 0)) == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)

    def test_ambiguous_time_takes_the_first_instant(self):
        """In the repeated hour (clocks go back) a time maps to its first pass (fold 0)."""
        clock = LogClock(BERLIN)

        assert clock.to_utc(local(2026, 10, 25, 2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)

    def test_non_existent_time_uses_the_offset_before_the_change(self):
        """In the skipped hour (clocks go forward) a time is read with the winter offset."""
        clock = LogClock(BERLIN)

        assert clock.to_utc(local(2026, 3, 29, 2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    def test_unknown_server_reads_utc(self):
        """A server servers.yml does not name has its log read as UTC."""
        clocks = ServerClocks({"eu": "Europe/Berlin"})

        assert (clocks.for_server("eu"), clocks.for_server("other")) == (
            clock_for("Europe/Berlin"),
            clock_for("UTC"),
        )


class TestEventTimes:
    def test_events_take_the_log_date_and_the_tailer_read_time(self, tmp_path):
        """Ts is the line's date in the server's zone; observed_at is the batch's read time."""
        patterns = load_patterns(tmp_path, packs=("vanilla",)).patterns
        assert patterns is not None
        read_at = datetime(2026, 7, 1, 10, 0, 5, tzinfo=UTC)
        batch = RawLineBatch(
            server="eu", file_id="f", generation=0, offsets=(0,), read_at=read_at,
            lines=("2026-07-01 12:00:00 [JOIN] bob joined the game",),
        )  # fmt: skip

        encoded, _ = events_from_batch(batch, patterns, clock=clock_for("Europe/Berlin"))
        event = GameEvent.from_json(encoded[0].payload)

        assert (event.ts, event.observed_at) == (datetime(2026, 7, 1, 10, 0, tzinfo=UTC), read_at)
