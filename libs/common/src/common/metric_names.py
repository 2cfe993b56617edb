"""Metric and span names, declared once. Services never spell these as ad-hoc strings."""

from __future__ import annotations

import enum


class Metric(enum.StrEnum):
    """Every metric the pipeline exports (OTel instrument names)."""

    LINES_READ = "isr.tailer.lines_read"
    """Counter: console-log lines read by the tailer."""
    BATCHES_PUBLISHED = "isr.tailer.batches_published"
    """Counter: raw batches acknowledged by JetStream."""
    LINES_POSSIBLY_LOST = "isr.tailer.lines_possibly_lost"
    """Counter: times unread log content may have been lost (its file was truncated or
    copy-truncated, or deleted, before the tailer finished it, and no copy of it was found next
    to the log); one per occasion, since how many lines the vanished bytes held is unknowable.
    Attribute ``reason``: ``content_replaced`` or ``file_gone``."""
    LINES_PARSED = "isr.parser.lines"
    """Counter: lines the parser looked at."""
    LINES_UNMATCHED = "isr.parser.lines_unmatched"
    """Counter: lines no pattern matched (counted, not published)."""
    EVENTS_PUBLISHED = "isr.parser.events_published"
    """Counter: events acknowledged by JetStream."""
    MESSAGES_TERMINATED = "isr.messages_terminated"
    """Counter: messages terminated (by service and durable), each after its dead letter."""
    MESSAGES_DEAD_LETTERED = "isr.intake.dead_lettered"
    """Counter: messages parked on the service's dead-letter subject (poison, or out of
    deliveries)."""
    MESSAGES_REDELIVERED = "isr.intake.redelivered"
    """Counter: messages received with a delivery count above 1 (after a nak or a crash)."""
    MESSAGES_NAKED = "isr.intake.naks"
    """Counter: messages negatively acked (retried later, or given back on stop)."""
    INTAKE_BATCH_SIZE = "isr.intake.batch_size"
    """Histogram: messages per batch the intake fetched."""
    ROWS_WRITTEN = "isr.persistence.rows_written"
    """Counter: rows inserted (duplicates skipped are not counted)."""
    BATCH_SECONDS = "isr.persistence.batch_seconds"
    """Histogram: time to write one batch, seconds."""
    DISCORD_RATE_LIMITED = "isr.bot.discord_rate_limited"
    """Counter: 429 answers from Discord (attributes ``scope``: global/user/shared/route, and
    ``route``, e.g. ``POST /channels/{id}/messages``)."""


class Span(enum.StrEnum):
    """Span names."""

    TAILER_PUBLISH = "tailer.publish"
    PARSER_BATCH = "parser.batch"
    PERSISTENCE_BATCH = "persistence.batch"
