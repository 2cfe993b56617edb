"""`isr check-config`: every problem with its line and exit 1, or a server summary and exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
UNSET_VAR = "ISR_TEST_CHECK_CONFIG_UNSET_PW"

FIVE_MISTAKES = """\
servers:
  alpha:
    log_path: alpha.log
    rcon:
      host: 10.0.0.5
      password_env: ISR_TEST_CHECK_CONFIG_UNSET_PW
    stats:
      interval_s: 0
    alerts:
      ups_warning_threshold: 55.0
      ups_recovery_threshold: 50.0
    metrics:
      evolution: "false"
    colour: blue
"""


def run_isr(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``isr ARGS`` in a fresh interpreter and capture its output."""
    base = {key: value for key, value in os.environ.items() if key != UNSET_VAR}
    return subprocess.run(
        [sys.executable, "-m", "isr_cli.main", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture(name="config_dir")
def _config_dir(tmp_path: Path) -> Path:
    """An empty config directory."""
    path = tmp_path / "config"
    path.mkdir()
    return path


class TestCheckConfig:
    def test_reports_five_mistakes_with_lines(self, config_dir: Path) -> None:
        """Five different mistakes are all printed with their own lines, and the exit is 1."""
        servers = config_dir / "servers.yml"
        servers.write_text(FIVE_MISTAKES)

        result = run_isr("check-config", str(config_dir))

        assert result.returncode == 1
        assert [
            f"{servers}:6: servers.alpha.rcon.password_env: environment variable {UNSET_VAR} "
            "is not set",
            f"{servers}:8: servers.alpha.stats.interval_s: must be > 0, got 0",
            f"{servers}:11: servers.alpha.alerts.ups_recovery_threshold: must be >= "
            "ups_warning_threshold (55.0), got 50.0",
            f"{servers}:13: servers.alpha.metrics.evolution: expected true or false, got the "
            'string "false" (write true or false, without quotes)',
            f"{servers}:14: servers.alpha.colour: unknown key; allowed here: name, description, "
            "log_path, log_start, log_timezone, rcon, channels, metrics, stats, alerts, "
            "permissions, cooldowns, bridge, simulator",
        ] == result.stdout.splitlines()
        assert f"5 problems in {config_dir}\n" == result.stderr

    def test_valid_config_prints_a_summary(self, config_dir: Path) -> None:
        """A valid directory prints a server table without the password and exits 0."""
        (config_dir / "servers.yml").write_text(
            textwrap.dedent(
                """\
                discord: {guild_ids: [42]}
                servers:
                  alpha:
                    name: Alpha Base
                    log_path: /srv/alpha/console.log
                    rcon: {host: 10.0.0.5, port: 27016, password_env: ISR_TEST_PW}
                    channels: {default: 1, chat: 2}
                    permissions: {admin: [7]}
                  beta:
                    log_path: beta.log
                    rcon: {enabled: false}
                """
            )
        )

        result = run_isr("check-config", str(config_dir), env={"ISR_TEST_PW": "pw-never-shown"})

        lines = result.stdout.splitlines()
        assert (result.returncode, result.stderr) == (0, "")
        assert "pw-never-shown" not in result.stdout
        assert lines[2].split() == ["TAG", "NAME", "LOG", "PATH", "RCON", "CHANNELS", "PERMISSIONS"]
        assert [cell.strip() for cell in lines[3].split("  ") if cell.strip()] == [
            "alpha",
            "Alpha Base",
            "/srv/alpha/console.log",
            "10.0.0.5:27016 (env)",
            "2 (default, chat)",
            "query: everyone, admin: 1 role, danger: denied",
        ]
        assert lines[4].startswith("beta ")
        assert "off" in lines[4].split()
        assert lines[-1] == "Discord guilds: 42; presence on."

    def test_directory_from_environment(self, config_dir: Path) -> None:
        """Without DIR, $ISR_CONFIG_DIR is checked."""
        (config_dir / "servers.yml").write_text("servers: {}\n")

        result = run_isr("check-config", env={"ISR_CONFIG_DIR": str(config_dir)})

        assert (1, f"{config_dir / 'servers.yml'}:1: servers: must not be empty\n") == (
            result.returncode,
            result.stdout,
        )

    def test_default_directory_is_config(self, tmp_path: Path) -> None:
        """Without DIR or $ISR_CONFIG_DIR, ./config is checked."""
        (tmp_path / "config").mkdir()

        result = run_isr("check-config", env={"ISR_CONFIG_DIR": ""}, cwd=tmp_path)

        assert (
            result.returncode,
            result.stdout.split(";")[0],
        ) == (1, "config/servers.yml: file not found")

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A directory that does not exist is reported, with exit status 1."""
        missing = tmp_path / "nowhere"

        result = run_isr("check-config", str(missing))

        assert result.returncode == 1
        assert result.stdout.startswith(f"{missing}: configuration directory not found")

    def test_demo_config(self) -> None:
        """The shipped demo config passes once its password variable is set."""
        result = run_isr(
            "check-config",
            str(REPO_ROOT / "config"),
            env={"ISR_DEMO_RCON_PASSWORD": "demo-password"},
        )

        assert result.returncode == 0
        assert "demo  Demo Factorio" in result.stdout


class TestMalformedYaml:
    """Shapes that once printed a traceback (or ran for minutes) are issues with file and line."""

    @pytest.mark.timeout(90)
    def test_malformed_files_are_reported_without_a_traceback(self, config_dir: Path) -> None:
        """Merge keys, python tags, deep nesting and an alias bomb: exit 1, file:line each."""
        (config_dir / "servers.yml").write_text(
            "servers:\n  alpha:\n    log_path: !!python/tuple [a.log]\n"
        )
        patterns = config_dir / "patterns"
        patterns.mkdir()
        (patterns / "a_merge.yml").write_text("x: &a {p: 1}\npatterns: [{<<: *a}]\n")
        (patterns / "b_tag.yml").write_text("patterns: !!python/tuple [1, 2]\n")
        (patterns / "c_only_merge.yml").write_text("<<: {version: 2}\n")
        (patterns / "d_deep.yml").write_text("[" * 5000 + "]" * 5000)
        bomb = ["a0: &a0 [l, l, l, l, l, l, l, l, l]"]
        bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        (patterns / "e_bomb.yml").write_text("\n".join(bomb) + "\n")

        result = run_isr("check-config", str(config_dir))

        assert "Traceback" not in result.stderr + result.stdout
        assert result.returncode == 1
        for fragment in (
            "servers.yml:3: servers.alpha.log_path: YAML tag !!python/tuple is not supported",
            "a_merge.yml:1: x: unknown key",
            "b_tag.yml:1: patterns: YAML tag !!python/tuple is not supported",
            "c_only_merge.yml:1: version: expected 1",
            "d_deep.yml:1: [0][0][0][0][0][0]: nested deeper than 64 levels",
            "e_bomb.yml:6: a5[0]: more than 100,000 values, counting each use of an alias",
        ):
            assert fragment in result.stdout
