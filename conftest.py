"""Project-wide test set-up: internal errors are fatal, logging is reset between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common import internal_errors
from common import logging as isr_logging
from common.redaction import forget_secrets


@pytest.fixture(autouse=True, name="no_internal_errors")
def _no_internal_errors() -> Iterator[list[tuple[BaseException, str]]]:
    """Fail the test when any background loop reported an internal error (arroyo style)."""
    seen: list[tuple[BaseException, str]] = []

    def hook(exc: BaseException, where: str) -> None:
        seen.append((exc, where))

    internal_errors.add_hook(hook)
    yield seen
    internal_errors.remove_hook(hook)
    assert not seen, f"internal errors were reported: {seen}"


@pytest.fixture(autouse=True)
def _reset_global_state() -> Iterator[None]:
    """Give every test default structlog configuration and no registered secrets."""
    yield
    isr_logging.reset()
    forget_secrets()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test states its behaviour in a one-sentence docstring (CONTRIBUTING.md)."""
    missing = [
        item.nodeid
        for item in items
        if isinstance(item, pytest.Function) and not (item.function.__doc__ or "").strip()
    ]
    if missing:
        raise pytest.UsageError("tests without a behavioural docstring:\n  " + "\n  ".join(missing))
