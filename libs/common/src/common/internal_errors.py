"""The one hook for background errors that are logged and then survived.

Long-running loops catch unexpected exceptions so one bad message or a hiccup does not crash the
service. Every such catch calls :func:`report_internal_error`; tests install a hook that records
them and fail when any was reported (like arroyo's ``assert_no_internal_errors``).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

Hook = Callable[[BaseException, str], None]
"""Called with the exception and a short description of where it happened."""

_hooks: list[Hook] = []


def report_internal_error(exc: BaseException, where: str) -> None:
    """Log an unexpected error that the caller survives, and tell any installed hook."""
    structlog.get_logger().error("internal_error", where=where, error=repr(exc), exc_info=exc)
    for hook in _hooks:
        hook(exc, where)


def add_hook(hook: Hook) -> None:
    """Install a hook (tests use this to make internal errors fatal)."""
    _hooks.append(hook)


def remove_hook(hook: Hook) -> None:
    """Remove a hook installed with :func:`add_hook`."""
    _hooks.remove(hook)
