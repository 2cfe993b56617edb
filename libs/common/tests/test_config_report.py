"""Plain-text reports of a config check: issues one per line, servers as a table."""

from __future__ import annotations

from pathlib import Path

from common.config import ConfigIssue, format_issues, format_summary, load_config


class TestFormatIssues:
    def test_one_issue_per_line(self) -> None:
        """Issues render as file:line: field: message, file-level ones without a field."""
        issues = [
            ConfigIssue(Path("config/servers.yml"), 3, "servers.a.port", "must be <= 65535"),
            ConfigIssue(Path("config/servers.yml"), 9, "", "YAML syntax error: oops"),
            ConfigIssue(Path("config/mentions.yml"), None, "", "cannot read: Permission denied"),
        ]

        text = format_issues(issues)

        assert text.splitlines() == [
            "config/servers.yml:3: servers.a.port: must be <= 65535",
            "config/servers.yml:9: YAML syntax error: oops",
            "config/mentions.yml: cannot read: Permission denied",
        ]


class TestFormatSummary:
    def test_table_never_shows_the_password(self, tmp_path: Path) -> None:
        """The summary shows where the password comes from, not the password."""
        (tmp_path / "servers.yml").write_text(
            "servers:\n"
            "  alpha:\n"
            "    log_path: /logs/a.log\n"
            "    rcon: {password_env: PW, port: 1234}\n"
            "    permissions: {query: [1, 2], danger: [3]}\n"
            "  beta:\n"
            "    log_path: /logs/b.log\n"
            "    rcon: {enabled: false}\n"
        )
        config = load_config(tmp_path, environ={"PW": "hidden-password"})

        lines = format_summary(config).splitlines()

        assert lines == [
            "TAG    NAME   LOG PATH     RCON                  CHANNELS  PERMISSIONS",
            "alpha  alpha  /logs/a.log  127.0.0.1:1234 (env)  0         "
            "query: 2 roles, admin: denied, danger: 1 role",
            "beta   beta   /logs/b.log  off                   0         "
            "query: everyone, admin: denied, danger: denied",
            "",
            "2 servers OK.",
            "Discord guilds: none listed, so the bot serves no guild; presence on.",
        ]
