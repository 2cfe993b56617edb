"""structlog set-up: readable on a terminal, JSON otherwise, secrets always redacted.

Library code calls ``structlog.get_logger()``; :func:`configure` is called once by the service's
``run()``. Standard-library loggers (nats, asyncpg, hikari, aiohttp) are routed through the same
processors so their output is formatted and redacted too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from common.redaction import cap_text, redact_text, redact_value
from common.settings import LogSettings

_MAX_EXCEPTION_CHARS = 20_000  # a traceback is long by nature; a 900 KB repr inside it is not


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor: scrub secrets from every field, then cap every string's length.

    Redaction comes first so a secret is never half-kept by the cut; the cap
    (:data:`common.redaction.MAX_FIELD_CHARS`) keeps one huge field (a 900,000-character event
    id in a dead-lettered message) from making a log line of that size.
    """
    for key, value in list(event_dict.items()):
        if key == "event" and isinstance(value, str):
            event_dict[key] = cap_text(redact_text(value))
        else:
            event_dict[key] = _cap(redact_value(key, value))
    return event_dict


def _cap(value: Any) -> Any:
    if isinstance(value, str):
        return cap_text(value)
    if isinstance(value, dict):
        return {key: _cap(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cap(item) for item in value)
    return value


def _exception_redactor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    exc = event_dict.get("exception")
    if isinstance(exc, str):
        event_dict["exception"] = cap_text(redact_text(exc), _MAX_EXCEPTION_CHARS)
    return event_dict


def configure(settings: LogSettings, *, service: str, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger for one service process."""
    out = stream or sys.stderr
    use_console = settings.format == "console" or (settings.format == "auto" and out.isatty())
    use_colors = settings.color == "always" or (settings.color == "auto" and out.isatty())
    level = getattr(logging, settings.level.upper())

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=use_colors)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)

    exception_steps: list[Any] = (
        [] if use_console else [structlog.processors.format_exc_info, _exception_redactor]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exception_steps,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nats-py logs every reconnect attempt at ERROR with a traceback; one line is enough.
    logging.getLogger("nats").setLevel(max(level, logging.WARNING))


def reset() -> None:
    """Return structlog to its defaults (used by tests)."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
