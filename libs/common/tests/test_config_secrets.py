"""Secret references in servers.yml: resolved at load, never written inline, never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from common.config import ConfigError, ConfigIssue, load_config
from common.redaction import redact_text


def write_rcon(config_dir: Path, rcon: str) -> Path:
    """Write a one-server servers.yml whose rcon block holds the lines of ``rcon`` (line 5 on)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    lines = ["servers:", "  alpha:", "    log_path: a.log", "    rcon:"]
    lines += [f"      {line}" for line in rcon.splitlines()]
    (config_dir / "servers.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config_dir


def only_issue(config_dir: Path, environ: dict[str, str]) -> ConfigIssue:
    """The single issue loading ``config_dir`` raises."""
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir, environ=environ)
    (issue,) = caught.value.issues
    return issue


class TestEnvReference:
    def test_resolves_and_registers(self, tmp_path: Path) -> None:
        """password_env resolves to a SecretStr whose value is redacted from log text."""
        write_rcon(tmp_path, "password_env: RCON_PW\n")

        config = load_config(tmp_path, environ={"RCON_PW": "s3cret-value"})

        rcon = config.servers["alpha"].rcon
        assert rcon is not None
        assert rcon.password.get_secret_value() == "s3cret-value"
        assert redact_text("pw=s3cret-value sent") == "pw=*** sent"

    def test_unset_variable(self, tmp_path: Path) -> None:
        """An unset variable is an error naming the field and the variable."""
        write_rcon(tmp_path, "password_env: RCON_PW\n")

        issue = only_issue(tmp_path, {})

        assert (
            issue.line,
            issue.field,
            issue.message,
        ) == (
            5,
            "servers.alpha.rcon.password_env",
            "environment variable RCON_PW is not set",
        )

    def test_empty_variable(self, tmp_path: Path) -> None:
        """A variable set to the empty string is an error too."""
        write_rcon(tmp_path, "password_env: RCON_PW\n")

        issue = only_issue(tmp_path, {"RCON_PW": ""})

        assert issue.message == "environment variable RCON_PW is set but empty"

    def test_pasted_password_is_not_echoed(self, tmp_path: Path) -> None:
        """A value that is not a variable name (likely the password itself) is not repeated."""
        write_rcon(tmp_path, "password_env: hunter2!\n")

        issue = only_issue(tmp_path, {})

        assert "hunter2" not in str(issue)
        assert "must name an environment variable" in issue.message

    def test_default_environment_is_the_process(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without an explicit mapping the process environment is used."""
        monkeypatch.setenv("ISR_TEST_RCON_PW", "from-process")
        write_rcon(tmp_path, "password_env: ISR_TEST_RCON_PW\n")

        config = load_config(tmp_path)

        rcon = config.servers["alpha"].rcon
        assert rcon is not None
        assert rcon.password.get_secret_value() == "from-process"


class TestFileReference:
    def test_relative_to_config_dir(self, tmp_path: Path) -> None:
        """password_file is read relative to the config dir, without its trailing newline."""
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "rcon.txt").write_text("file-secret\n")
        write_rcon(tmp_path, "password_file: secrets/rcon.txt\n")

        config = load_config(tmp_path, environ={})

        rcon = config.servers["alpha"].rcon
        assert rcon is not None
        assert (rcon.password.get_secret_value(), rcon.password_ref.kind) == ("file-secret", "file")

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing secret file is an error naming the field and the path."""
        write_rcon(tmp_path, "password_file: secrets/none.txt\n")

        issue = only_issue(tmp_path, {})

        assert (
            issue.field,
            issue.message.startswith("secret file secrets/none.txt does not exist"),
        ) == ("servers.alpha.rcon.password_file", True)

    def test_empty_file(self, tmp_path: Path) -> None:
        """A file holding only a newline is an empty secret."""
        (tmp_path / "pw").write_text("\n")
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == "secret file pw is empty"

    def test_directory(self, tmp_path: Path) -> None:
        """A directory is not a secret file."""
        (tmp_path / "pw").mkdir()
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message.startswith("secret file pw is a directory")

    def test_unreadable_file(self, tmp_path: Path) -> None:
        """A path the system cannot read is an error with the system's reason."""
        (tmp_path / "plain").write_text("x")
        write_rcon(tmp_path, "password_file: plain/pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == "secret file plain/pw cannot be read: Not a directory"


class TestSpecialFiles:
    """Secret files are regular files of at most 64 KiB; anything else is refused at once."""

    @pytest.mark.timeout(10)
    def test_dev_zero_is_refused(self, tmp_path: Path) -> None:
        """/dev/zero (endless) is a character device, refused without reading it."""
        write_rcon(tmp_path, "password_file: /dev/zero\n")

        issue = only_issue(tmp_path, {})

        assert (issue.field, issue.message) == (
            "servers.alpha.rcon.password_file",
            "secret file /dev/zero is a character device, not a regular file",
        )

    @pytest.mark.timeout(10)
    def test_fifo_is_refused_without_hanging(self, tmp_path: Path) -> None:
        """A FIFO nobody writes to is refused instead of blocking the load."""
        os.mkfifo(tmp_path / "pw")
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == "secret file pw is a FIFO (named pipe), not a regular file"

    def test_directory_is_refused(self, tmp_path: Path) -> None:
        """A directory is named as such."""
        (tmp_path / "pw").mkdir()
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == "secret file pw is a directory, not a regular file"

    def test_huge_file_is_refused(self, tmp_path: Path) -> None:
        """A regular file over 64 KiB (here a sparse 1 GiB one) is refused without reading it."""
        with (tmp_path / "pw").open("wb") as handle:
            handle.truncate(1 << 30)
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == (
            "secret file pw is larger than the limit of 65,536 bytes (1,073,741,824 bytes)"
        )

    def test_file_at_the_limit_is_read(self, tmp_path: Path) -> None:
        """A secret of exactly 64 KiB is still accepted."""
        (tmp_path / "pw").write_text("k" * 65536)
        write_rcon(tmp_path, "password_file: pw\n")

        rcon = load_config(tmp_path, environ={}).servers["alpha"].rcon

        assert rcon is not None
        assert len(rcon.password.get_secret_value()) == 65536

    def test_symlink_to_a_regular_file_is_followed(self, tmp_path: Path) -> None:
        """Kubernetes mounts secrets as symlinks (..data/pw); a symlink to a regular file works."""
        (tmp_path / "..data").mkdir()
        (tmp_path / "..data" / "pw").write_text("linked-secret\n")
        (tmp_path / "pw").symlink_to(Path("..data") / "pw")
        write_rcon(tmp_path, "password_file: pw\n")

        rcon = load_config(tmp_path, environ={}).servers["alpha"].rcon

        assert rcon is not None
        assert rcon.password.get_secret_value() == "linked-secret"

    def test_symlink_to_a_device_is_refused(self, tmp_path: Path) -> None:
        """A symlink is judged by what it points to: one to /dev/zero is refused."""
        (tmp_path / "pw").symlink_to("/dev/zero")
        write_rcon(tmp_path, "password_file: pw\n")

        issue = only_issue(tmp_path, {})

        assert issue.message == "secret file pw is a character device, not a regular file"


class TestInlineSecrets:
    def test_plaintext_password(self, tmp_path: Path) -> None:
        """password: in YAML is refused with the two allowed forms, without echoing it."""
        write_rcon(tmp_path, "password: hunter2\n")

        issues = []
        with pytest.raises(ConfigError) as caught:
            load_config(tmp_path, environ={})
        issues = [(issue.line, issue.field) for issue in caught.value.issues]

        text = str(caught.value)
        assert (5, "servers.alpha.rcon.password") in issues
        assert "password_env" in text
        assert "password_file" in text
        assert "hunter2" not in text

    def test_original_rcon_password_key(self, tmp_path: Path) -> None:
        """The original's rcon_password key is refused with where the reference goes now."""
        (tmp_path / "servers.yml").write_text(
            "servers:\n  alpha:\n    log_path: a\n    rcon: {enabled: false}\n"
            "    rcon_password: ${RCON}\n"
        )

        issue = only_issue(tmp_path, {})

        assert (issue.line, issue.field) == (5, "servers.alpha.rcon_password")
        assert "rcon.password_env or rcon.password_file" in issue.message
        assert "${RCON}" not in issue.message

    def test_wrong_type_under_a_secret_key_is_hidden(self, tmp_path: Path) -> None:
        """A secret-looking key's value is never echoed, even in a type error."""
        (tmp_path / "servers.yml").write_text(
            "discord:\n  token: abc123\nservers:\n  a: {log_path: a, rcon: {enabled: false}}\n"
        )

        issue = only_issue(tmp_path, {})

        assert (issue.line, issue.field) == (2, "discord.token")
        assert "abc123" not in issue.message


class TestDisabledBlocks:
    def test_disabled_rcon_reference_is_not_resolved(self, tmp_path: Path) -> None:
        """With rcon disabled an unset password variable is not an error."""
        write_rcon(tmp_path, "enabled: false\npassword_env: NOT_SET_ANYWHERE\n")

        config = load_config(tmp_path, environ={})

        assert None is config.servers["alpha"].rcon


class TestNoLeaks:
    def test_repr_and_dump_hide_the_password(self, tmp_path: Path) -> None:
        """Neither repr nor a JSON dump of the config contains the password."""
        write_rcon(tmp_path, "password_env: RCON_PW\n")

        config = load_config(tmp_path, environ={"RCON_PW": "very-secret-pw"})

        assert "very-secret-pw" not in repr(config)
        assert "very-secret-pw" not in config.model_dump_json()
