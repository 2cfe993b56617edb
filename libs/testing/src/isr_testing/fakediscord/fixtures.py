"""pytest fixtures for the fake Discord, registered by ``isr_testing.plugin``.

- ``fake_discord`` (function): a started :class:`FakeDiscord`. At teardown it fails the test if
  hikari reported a payload it could not handle (``loop_errors``), a route was unknown
  (``unhandled``) or the interaction protocol was broken (``protocol_errors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from isr_testing.fakediscord.server import FakeDiscord


@pytest_asyncio.fixture(name="fake_discord")
async def _fake_discord() -> AsyncIterator[FakeDiscord]:
    """A fake Discord on 127.0.0.1:<free port>; strict about what the client sent."""
    async with FakeDiscord() as fake:
        yield fake
        assert not fake.loop_errors, f"hikari could not handle a payload: {fake.loop_errors}"
        assert not fake.unhandled, f"unknown routes: {[(r.method, r.path) for r in fake.unhandled]}"
        assert not fake.protocol_errors, f"protocol errors: {fake.protocol_errors}"
