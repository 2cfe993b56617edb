"""The per-server log_timezone setting of servers.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import ConfigError, load_config


def _servers(config_dir: Path, zone_line: str) -> Path:
    """A servers.yml with one log-only server and the given ``log_timezone`` line."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "servers.yml").write_text(
        f"servers:\n  alpha:\n    log_path: a.log\n{zone_line}    rcon:\n      enabled: false\n"
    )
    return config_dir


class TestLogTimezone:
    def test_default_is_utc(self, tmp_path: Path) -> None:
        """A server without log_timezone has its log read as UTC."""
        config = load_config(_servers(tmp_path, ""))

        assert config.servers["alpha"].log_timezone == "UTC"

    def test_an_iana_zone_is_taken(self, tmp_path: Path) -> None:
        """An IANA zone name is accepted as written."""
        config = load_config(_servers(tmp_path, "    log_timezone: Europe/Berlin\n"))

        assert config.servers["alpha"].log_timezone == "Europe/Berlin"

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "CEST", "''"])
    def test_unknown_zone_names_file_line_and_field(self, tmp_path: Path, zone: str) -> None:
        """A zone the time zone database does not know is a config error at its line."""
        config_dir = _servers(tmp_path, f"    log_timezone: {zone}\n")

        with pytest.raises(ConfigError) as caught:
            load_config(config_dir)

        [issue] = caught.value.issues
        assert (issue.file.name, issue.line, issue.field) == (
            "servers.yml",
            4,
            "servers.alpha.log_timezone",
        )
