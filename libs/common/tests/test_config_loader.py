"""servers.yml loading: every problem of every server, each with its file, line and field."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from common.config import (
    ConfigError,
    ConfigIssue,
    IsrConfig,
    check_config_dir,
    load_config,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
ENV = {"RCON_PW": "correct-horse"}


def write_servers(config_dir: Path, text: str) -> Path:
    """Write ``servers.yml`` (dedented) into ``config_dir`` and return the directory."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "servers.yml").write_text(textwrap.dedent(text), encoding="utf-8")
    return config_dir


def issues_of(config_dir: Path, environ: dict[str, str] | None = None) -> list[ConfigIssue]:
    """The issues load_config raises for ``config_dir`` (fails the test if it loads)."""
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir, environ=ENV if environ is None else environ)
    return list(caught.value.issues)


def located(issues: list[ConfigIssue]) -> list[tuple[int | None, str]]:
    """(line, field) of each issue, in order."""
    return [(issue.line, issue.field) for issue in issues]


class TestLoadConfig:
    def test_minimal_server(self, tmp_path: Path) -> None:
        """A server with only a log path and an RCON password env var loads with defaults."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: logs/alpha.log
                rcon:
                  password_env: RCON_PW
            """,
        )

        config = load_config(tmp_path, environ=ENV)

        server = config.servers["alpha"]
        assert ("alpha", tmp_path.absolute() / "logs" / "alpha.log") == (
            server.name,
            server.log_path,
        )
        assert server.rcon is not None
        assert (
            server.rcon.host,
            server.rcon.port,
            server.rcon.password.get_secret_value(),
        ) == ("127.0.0.1", 27015, "correct-horse")

    def test_server_order_is_kept(self, tmp_path: Path) -> None:
        """Servers come out in the order the file lists them."""
        entries = "".join(
            f"  {tag}:\n    log_path: {tag}.log\n    rcon: {{enabled: false}}\n"
            for tag in ("zulu", "alpha", "mike")
        )
        write_servers(tmp_path, "servers:\n" + entries)

        config = load_config(tmp_path, environ={})

        assert list(config.servers) == ["zulu", "alpha", "mike"]

    def test_five_mistakes_with_lines(self, tmp_path: Path) -> None:
        """Five different mistakes in one server are all reported, each at its own line."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: alpha.log
                rcon:
                  password_env: MISSING_PW
                alerts:
                  ups_warning_threshold: 55.0
                  ups_recovery_threshold: 50.0
                stats:
                  interval_s: 0
                metrics:
                  ups: "false"
                colour: blue
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [
            (5, "servers.alpha.rcon.password_env"),
            (8, "servers.alpha.alerts.ups_recovery_threshold"),
            (10, "servers.alpha.stats.interval_s"),
            (12, "servers.alpha.metrics.ups"),
            (13, "servers.alpha.colour"),
        ]

    def test_message_of_impossible_thresholds(self, tmp_path: Path) -> None:
        """The threshold error names both fields and both values, in file:line: field form."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: alpha.log
                rcon: {enabled: false}
                alerts:
                  ups_recovery_threshold: 50.0
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (
            f"{tmp_path / 'servers.yml'}:6: servers.alpha.alerts.ups_recovery_threshold: "
            "must be >= ups_warning_threshold (55.0), got 50.0"
        ) == str(issue)

    def test_one_bad_server_does_not_hide_another(self, tmp_path: Path) -> None:
        """Problems in two servers are reported together, in line order."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: alpha.log
                rcon: {enabled: false}
                stats: {interval_s: -1}
              beta:
                log_path: beta.log
                rcon: {enabled: false, port: 0}
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [
            (5, "servers.alpha.stats.interval_s"),
            (8, "servers.beta.rcon.port"),
        ]

    def test_missing_field_uses_parent_line(self, tmp_path: Path) -> None:
        """A missing log_path is reported at the line of the server that lacks it."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: alpha.log
                rcon: {enabled: false}
              beta:
                rcon: {enabled: false}
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (
            issue.line,
            issue.field,
            issue.message,
        ) == (5, "servers.beta.log_path", "required field is missing")

    def test_missing_rcon_password(self, tmp_path: Path) -> None:
        """A server without an rcon block is told to give a password or disable RCON."""
        write_servers(tmp_path, "servers:\n  alpha:\n    log_path: alpha.log\n")

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.field) == (2, "servers.alpha.rcon")
        assert "password_env" in issue.message
        assert "enabled: false" in issue.message

    def test_bad_tag_explains_nats(self, tmp_path: Path) -> None:
        """An upper-case tag is refused with the reason: it is a NATS subject token."""
        write_servers(
            tmp_path,
            """\
            servers:
              Alpha.One:
                log_path: a.log
                rcon: {enabled: false}
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.field) == (2, "servers.Alpha.One")
        assert "NATS subject token" in issue.message

    def test_unknown_key_suggests_the_close_one(self, tmp_path: Path) -> None:
        """A misspelt key is reported with the closest real key."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false}
                chanels: {}
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.message) == (5, "unknown key; did you mean channels?")

    def test_original_key_names_its_new_place(self, tmp_path: Path) -> None:
        """A key of the original bot is reported with where it moved."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false}
                event_channel_id: 123
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert "channels.default" in issue.message

    def test_quoted_number_gets_a_hint(self, tmp_path: Path) -> None:
        """A quoted channel id is rejected with a hint to drop the quotes."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false}
                channels:
                  default: "123456789"
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.message) == (
            6,
            'expected an integer, got the string "123456789" (write the number without quotes)',
        )

    def test_list_items_have_their_own_lines(self, tmp_path: Path) -> None:
        """A bad role id in a block list is reported at the item's line and index."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false}
                permissions:
                  admin:
                    - 123
                    - -5
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (
            issue.line,
            issue.field,
            issue.message,
        ) == (8, "servers.alpha.permissions.admin[1]", "must be > 0, got -5")

    def test_top_level_problems_and_servers_together(self, tmp_path: Path) -> None:
        """A bad discord section and an unknown top-level key do not hide server problems."""
        write_servers(
            tmp_path,
            """\
            discord:
              presence: yes
            servrs: {}
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false, timeout_s: 0}
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [
            (2, "discord.presence"),
            (3, "servrs"),
            (7, "servers.alpha.rcon.timeout_s"),
        ]

    def test_unsupported_version(self, tmp_path: Path) -> None:
        """Only schema version 1 is accepted."""
        write_servers(tmp_path, "version: 2\nservers:\n  a:\n    log_path: a\n")

        issues = issues_of(tmp_path)

        assert (
            issues[0].line,
            issues[0].field,
            issues[0].message,
        ) == (1, "version", "expected 1, got 2")

    def test_no_servers(self, tmp_path: Path) -> None:
        """An empty servers mapping is an error."""
        write_servers(tmp_path, "servers: {}\n")

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.field, issue.message) == (1, "servers", "must not be empty")

    def test_cross_server_duplicates(self, tmp_path: Path) -> None:
        """Two servers on one log file or one RCON endpoint are reported on the second."""
        write_servers(
            tmp_path,
            """\
            servers:
              alpha:
                log_path: shared.log
                rcon: {password_env: RCON_PW}
              beta:
                log_path: ./shared.log
                rcon: {password_env: RCON_PW}
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [(6, "servers.beta.log_path"), (7, "servers.beta.rcon.port")]

    def test_config_error_lists_everything(self, tmp_path: Path) -> None:
        """ConfigError's text counts the problems and shows one per line."""
        write_servers(
            tmp_path,
            "servers:\n  a:\n    log_path: a\n    rcon: {enabled: false}\n    x: 1\n    y: 2\n",
        )

        with pytest.raises(ConfigError) as caught:
            load_config(tmp_path, environ={})

        assert str(caught.value).splitlines() == [
            "2 configuration problems:",
            f"  {tmp_path / 'servers.yml'}:5: servers.a.x: unknown key; allowed here: "
            "name, description, log_path, log_start, log_timezone, rcon, channels, metrics, stats, "
            "alerts, "
            "permissions, cooldowns, bridge, simulator",
            f"  {tmp_path / 'servers.yml'}:6: servers.a.y: unknown key; allowed here: "
            "name, description, log_path, log_start, log_timezone, rcon, channels, metrics, stats, "
            "alerts, "
            "permissions, cooldowns, bridge, simulator",
        ]


class TestYamlProblems:
    def test_syntax_error_has_a_line(self, tmp_path: Path) -> None:
        """A YAML syntax error is reported with its line and no field."""
        write_servers(tmp_path, "servers:\n  alpha:\n    log_path: a: b\n")

        (issue,) = issues_of(tmp_path)

        assert (issue.line, issue.field) == (3, "")
        assert issue.message.startswith("YAML syntax error: mapping values are not allowed")

    def test_duplicate_key(self, tmp_path: Path) -> None:
        """A key written twice is reported at its second occurrence."""
        write_servers(tmp_path, "servers:\n  alpha:\n    log_path: a\n    log_path: b\n")

        (issue,) = issues_of(tmp_path)

        assert issue.line == 4
        assert "duplicate key" in issue.message

    def test_empty_file(self, tmp_path: Path) -> None:
        """An empty servers.yml says it needs a servers mapping."""
        write_servers(tmp_path, "# nothing yet\n")

        (issue,) = issues_of(tmp_path)

        assert "the file is empty; servers.yml needs a `servers:` mapping" in issue.message

    def test_missing_file_hints_at_yaml_extension(self, tmp_path: Path) -> None:
        """With only servers.yaml present, the error suggests renaming it."""
        (tmp_path / "servers.yaml").write_text("servers: {}\n")

        (issue,) = issues_of(tmp_path)

        assert (tmp_path / "servers.yml", None) == (issue.file, issue.line)
        assert "rename it to servers.yml" in issue.message

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A config directory that does not exist is one issue naming it."""
        missing = tmp_path / "nope"

        (issue,) = issues_of(missing)

        assert (missing, "configuration directory not found") == (
            issue.file,
            issue.message.split(" (")[0],
        )

    def test_anchors_and_merge_keys(self, tmp_path: Path) -> None:
        """YAML anchors and merge keys work, and merged keys keep their own lines."""
        write_servers(
            tmp_path,
            """\
            x-common: &common
              rcon: {enabled: false}
              stats: {interval_s: 0}
            servers:
              alpha:
                <<: *common
                log_path: a.log
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [(1, "x-common"), (3, "servers.alpha.stats.interval_s")]


class TestDefaults:
    def test_mappings_merge_and_lists_replace(self, tmp_path: Path) -> None:
        """Defaults merge key by key under each server; a server's list replaces the default."""
        write_servers(
            tmp_path,
            """\
            defaults:
              rcon: {password_env: RCON_PW, timeout_s: 3}
              alerts: {cooldown_s: 60}
              permissions: {admin: [1, 2]}
            servers:
              alpha:
                log_path: a.log
                rcon: {port: 27016}
                alerts: {ups_warning_threshold: 40, ups_recovery_threshold: 45}
                permissions: {admin: [3]}
              beta:
                log_path: b.log
            """,
        )

        config = load_config(tmp_path, environ=ENV)

        alpha, beta = config.servers["alpha"], config.servers["beta"]
        assert alpha.rcon is not None
        assert beta.rcon is not None
        assert (
            alpha.rcon.port,
            alpha.rcon.timeout_s,
            alpha.alerts.cooldown_s,
            alpha.alerts.ups_warning_threshold,
            alpha.permissions.admin,
        ) == (27016, 3.0, 60.0, 40.0, (3,))
        assert (beta.rcon.port, beta.permissions.admin) == (27015, (1, 2))

    def test_bad_default_is_reported_once(self, tmp_path: Path) -> None:
        """A bad value under defaults is reported once, at its own line, not per server."""
        write_servers(
            tmp_path,
            """\
            defaults:
              rcon: {enabled: false}
              stats: {interval_s: 0}
              bogus: 1
            servers:
              alpha: {log_path: a.log}
              beta: {log_path: b.log}
            """,
        )

        issues = issues_of(tmp_path)

        assert located(issues) == [(3, "defaults.stats.interval_s"), (4, "defaults.bogus")]

    def test_contextual_problem_names_the_server(self, tmp_path: Path) -> None:
        """A rule broken by merging a default is named on the server, at the default's line."""
        write_servers(
            tmp_path,
            """\
            defaults:
              alerts:
                ups_recovery_threshold: 50
            servers:
              alpha:
                log_path: a.log
                rcon: {enabled: false}
                alerts: {ups_warning_threshold: 55}
            """,
        )

        (issue,) = issues_of(tmp_path)

        assert (
            issue.line,
            issue.field,
        ) == (3, "servers.alpha.alerts.ups_recovery_threshold (from defaults)")

    def test_empty_server_takes_every_default(self, tmp_path: Path) -> None:
        """A server written as a bare tag gets everything from defaults."""
        write_servers(
            tmp_path,
            """\
            defaults:
              log_path: only.log
              rcon: {enabled: false}
            servers:
              alpha:
            """,
        )

        config = load_config(tmp_path, environ={})

        assert tmp_path.absolute() / "only.log" == config.servers["alpha"].log_path


class TestShippedFiles:
    def test_demo_config_loads(self) -> None:
        """config/servers.yml (the make run demo) is valid once its password variable is set."""
        config_dir = REPO_ROOT / "config"

        config = load_config(config_dir, environ={"ISR_DEMO_RCON_PASSWORD": "demo-secret"})

        demo = config.servers["demo"]
        assert demo.rcon is not None
        assert (
            list(config.servers),
            demo.name,
            demo.log_path,
            (demo.rcon.host, demo.rcon.port),
            demo.simulator.enabled,
            demo.metrics.interval_s,
            demo.stats.interval_s,
            demo.channels,
        ) == (
            ["demo"],
            "Demo Factorio",
            REPO_ROOT / ".isr" / "demo" / "console.log",
            ("127.0.0.1", 27015),
            True,
            5.0,
            60.0,
            {},
        )

    def test_example_config_loads(self, tmp_path: Path) -> None:
        """docs/examples/servers.example.yml is valid with its two secrets provided."""
        shutil.copy(
            REPO_ROOT / "docs" / "examples" / "servers.example.yml", tmp_path / "servers.yml"
        )
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "rcon-space-age.txt").write_text("space-pw\n")

        config = load_config(tmp_path, environ={"RCON_PASSWORD_MAIN": "main-pw"})

        assert isinstance(config, IsrConfig)
        assert list(config.servers) == ["main", "space-age", "archive"]
        assert None is config.servers["archive"].rcon

    def test_demo_config_without_password_is_reported(self) -> None:
        """check_config_dir on the demo without its variable reports that variable."""
        config_dir = REPO_ROOT / "config"

        config, issues = check_config_dir(config_dir, environ={}, validators=())

        assert None is config
        assert [issue.field for issue in issues] == ["servers.demo.rcon.password_env"]


def test_secrets_can_be_left_unresolved(tmp_path):
    """A service that needs no secret loads the config without the password being available."""
    (tmp_path / "servers.yml").write_text(
        "servers:\n  a:\n    log_path: a.log\n    rcon:\n      password_env: NOT_SET_ANYWHERE\n"
    )

    config = load_config(tmp_path, environ={}, resolve_secrets=False)

    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        load_config(tmp_path, environ={})
    assert config.servers["a"].rcon is not None
    assert config.servers["a"].rcon.password_ref is not None
