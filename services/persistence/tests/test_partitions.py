from datetime import UTC, date, datetime, timedelta, timezone

from persistence.partitions import (
    DayPartition,
    expired_partitions,
    parse_partition,
    partitions_ahead,
    partitions_for,
    retention_cutoff,
)

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)


class TestDayPartition:
    def test_name_and_bounds_are_the_utc_day(self):
        """A day's partition is named by its date and spans UTC midnight to midnight."""
        p = DayPartition("metric_samples", date(2026, 11, 27))

        assert (p.name, p.start.isoformat(), p.end.isoformat()) == (
            "metric_samples_p20261127",
            "2026-11-27T00:00:00+00:00",
            "2026-11-28T00:00:00+00:00",
        )

    def test_parse_round_trips_and_rejects_foreign_names(self):
        """Only names of the form <table>_pYYYYMMDD with a real date are partitions."""
        assert parse_partition("metric_minute_p20261231") == DayPartition(
            "metric_minute", date(2026, 12, 31)
        )
        assert parse_partition("metric_minute_p20261341") is None
        assert parse_partition("metric_minute_default") is None

    def test_rows_go_to_the_partition_of_their_utc_day(self):
        """A time just before UTC midnight in a +02:00 zone belongs to the UTC day."""
        local = datetime(2026, 11, 28, 1, 0, tzinfo=timezone(timedelta(hours=2)))

        assert partitions_for("t", [local]) == {DayPartition("t", date(2026, 11, 27))}

    def test_partitions_ahead_cover_today_and_the_next_days(self):
        """Upkeep creates today's partition and the given number after it."""
        days = [p.day for p in partitions_ahead("t", NOW, 2)]

        assert days == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]


class TestRetention:
    def test_zero_days_keeps_forever(self):
        """Retention 0 has no cutoff."""
        assert retention_cutoff(NOW, 0) is None

    def test_only_partitions_wholly_before_the_cutoff_expire(self):
        """With 7 days kept, a partition ending after the cutoff survives, earlier ones go."""
        names = [f"t_p202611{d:02d}" for d in range(17, 28)] + ["other_p20200101"]

        expired = expired_partitions(names, table="t", now=NOW, keep_days=7)

        # cutoff 2026-11-20 15:30: the 19th ends at the 20th 00:00 (expired), the 20th does not.
        assert [p.day.day for p in expired] == [17, 18, 19]
