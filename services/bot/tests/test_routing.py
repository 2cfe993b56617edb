from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.routing import alert_channels, event_channel, shared_channels
from common.config import IsrConfig, LoadContext, config_from_document, parse_yaml
from common.contracts import Alert, AlertType, GameEvent, Severity

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _config(tmp_path: Path) -> IsrConfig:
    text = """
servers:
  a:
    log_path: a.log
    rcon: {enabled: false}
    channels: {default: 1, chat: 2, deaths: 3, alert: 4, whisper: 5}
  b:
    log_path: b.log
    rcon: {enabled: false}
    channels: {default: 1, alert: 6}
"""
    config, issues = config_from_document(
        parse_yaml(text, tmp_path / "servers.yml"), LoadContext.create(tmp_path, {})
    )
    assert config is not None, issues
    return config


def _event(kind: str, server: str = "a", channel: str | None = None) -> GameEvent:
    return GameEvent(id="x", server=server, type=kind, observed_at=NOW, channel=channel)


def _alert(server: str) -> Alert:
    return Alert(
        id="y",
        server=server,
        type=AlertType.RCON_DOWN,
        severity=Severity.CRITICAL,
        raised_at=NOW,
        summary="down",
    )


class TestRouting:
    def test_pattern_channel_then_kind_then_default(self):
        """A pattern's channel wins, then the kind's channel, then default."""
        config = _config(Path("/tmp"))
        server = config.servers["a"]

        assert event_channel(server, _event("death", channel="deaths")) == 3
        assert event_channel(server, _event("chat", channel="nowhere")) == 2
        assert event_channel(server, _event("join")) == 1

    def test_private_kinds_need_their_own_channel(self):
        """Whispers go only to a whisper channel; commands without one go nowhere."""
        config = _config(Path("/tmp"))

        assert event_channel(config.servers["a"], _event("whisper")) == 5
        assert event_channel(config.servers["a"], _event("command")) is None
        assert event_channel(config.servers["b"], _event("whisper", server="b")) is None

    def test_alerts_go_to_the_alert_channel_system_alerts_to_all(self):
        """A server's alert goes to its alert channel; a pipeline alert to each, once."""
        config = _config(Path("/tmp"))

        assert alert_channels(config, _alert("b")) == [6]
        assert alert_channels(config, _alert("_system")) == [4, 6]

    def test_shared_channels_are_found(self):
        """A channel two servers post to is shared (its lines name the server)."""
        assert shared_channels(_config(Path("/tmp"))) == frozenset({1})
