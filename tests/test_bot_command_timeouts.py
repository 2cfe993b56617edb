"""A command's timeout reply names the wait that operation really had."""

from __future__ import annotations

from pathlib import Path

import nats
import pytest

from common.topology import Topology
from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import running_bot, write_config

pytestmark = [pytest.mark.discord, pytest.mark.nats]

ADMIN_ROLE = 501


async def test_a_save_that_times_out_states_the_save_timeout(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    nats_server,
    nats_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
):
    """A poller that never answers: save says its own 1.5 s wait, status the 1 s command wait."""
    monkeypatch.setenv("ISR_TEST_TIMEOUT_PASSWORD", "pw-123456")
    config_dir = write_config(
        tmp_path / "config",
        {"alpha": {"name": "Alpha", "log_path": "alpha.log",
                   "rcon": {"port": 27015, "password_env": "ISR_TEST_TIMEOUT_PASSWORD"},
                   "permissions": {"admin": [ADMIN_ROLE]}}},
    )  # fmt: skip
    nc = await nats.connect(nats_server.url)
    # A stalled poller: it takes every request and never answers.
    sub = await nc.subscribe(Topology(nats_prefix).rcon_subject("alpha", "bot"), cb=_ignore)
    try:
        async with running_bot(
            fake_discord,
            nats_url=nats_server.url,
            prefix=nats_prefix,
            config_dir=config_dir,
            command_timeout_s=1.0,
            save_timeout_s=1.5,
        ):
            save = await _ask(fake_discord, "save")
            status = await _ask(fake_discord, "status")
    finally:
        await sub.unsubscribe()
        await nc.close()

    assert save["embeds"][0]["description"] == "Alpha did not answer within 1.5 s."
    assert status["embeds"][0]["description"] == "Alpha did not answer within 1 s."


async def _ignore(_msg: object) -> None:
    return None


async def _ask(fake: FakeDiscord, name: str) -> dict:
    state = fake.send_interaction(
        name="factorio",
        options=[{"name": name, "type": 1, "options": []}],
        user_id=42,
        roles=[ADMIN_ROLE],
    )
    return await fake.wait_for_reply(state, timeout_s=20)
