"""One bridge-marker setting: the bot writes it, the parser flags chat that starts with it."""

from __future__ import annotations

from pathlib import Path

import nats
import pytest

from bot.settings import BotSettings
from common.contracts import GameEvent
from common.vocabulary import DEFAULT_BRIDGE_MARKER, EventFlag
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events
from parser.settings import ParserSettings


def _markers() -> tuple[str, str]:
    parser = ParserSettings().runtime.pipeline.bridge_marker
    bot = BotSettings().runtime.pipeline.bridge_marker
    return parser, bot


class TestOneSetting:
    def test_default_marker(self, monkeypatch: pytest.MonkeyPatch):
        """Without any variable both services use the default marker."""
        for name in ("ISR_BRIDGE_MARKER", "ISR_PARSER_BRIDGE_MARKER", "ISR_BOT_BRIDGE_MARKER"):
            monkeypatch.delenv(name, raising=False)

        assert _markers() == (DEFAULT_BRIDGE_MARKER, DEFAULT_BRIDGE_MARKER)

    def test_one_variable_sets_both_services(self, monkeypatch: pytest.MonkeyPatch):
        """ISR_BRIDGE_MARKER is the marker of the parser and of the bot."""
        monkeypatch.setenv("ISR_BRIDGE_MARKER", "[Bridge]")

        assert _markers() == ("[Bridge]", "[Bridge]")

    @pytest.mark.parametrize("old", ["ISR_PARSER_BRIDGE_MARKER", "ISR_BOT_BRIDGE_MARKER"])
    def test_deprecated_names_still_work_for_both(self, monkeypatch: pytest.MonkeyPatch, old: str):
        """Either deprecated per-service name, set alone, sets the marker of both services."""
        monkeypatch.delenv("ISR_BRIDGE_MARKER", raising=False)
        monkeypatch.setenv(old, "[Old]")

        assert _markers() == ("[Old]", "[Old]")

    def test_the_shared_name_wins_over_a_deprecated_one(self, monkeypatch: pytest.MonkeyPatch):
        """When both the shared and a deprecated name are set, the shared one is used."""
        monkeypatch.setenv("ISR_BRIDGE_MARKER", "[New]")
        monkeypatch.setenv("ISR_PARSER_BRIDGE_MARKER", "[Old]")

        assert _markers() == ("[New]", "[New]")


@pytest.mark.nats
async def test_parser_process_flags_chat_with_the_shared_marker(
    tmp_path: Path, nats_server, nats_prefix
):
    """A parser started with ISR_BRIDGE_MARKER flags <server> chat starting with it as bridged."""
    log = tmp_path / "console.log"
    log.write_text(
        "2026-11-27 12:00:00 [CHAT] <server>: [Bridge] carol: hi\n"
        "2026-11-27 12:00:01 [CHAT] <server>: [Discord] dave: not ours any more\n"
    )
    config = write_config(tmp_path / "config", {"srv": log})
    env = service_env(nats_server.url, nats_prefix, config, ISR_BRIDGE_MARKER="[Bridge]")
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "srv"], env, tmp_path),
        ServiceProcess("parser", ["parser"], env, tmp_path),
    ]
    for proc in procs:
        proc.start()
    nc = await nats.connect(nats_server.url)
    try:
        events = await read_events(
            nc.jetstream(), f"{nats_prefix}.events.srv.chat", count=2, timeout_s=60
        )
    finally:
        await nc.close()
        codes = [p.terminate() for p in procs]

    flags = {e.message: e.flags for e in events if isinstance(e, GameEvent)}
    assert codes == [0, 0]
    assert flags == {
        "[Bridge] carol: hi": (EventFlag.BRIDGED,),
        "[Discord] dave: not ours any more": (),
    }
