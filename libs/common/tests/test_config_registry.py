"""check_config_dir: servers.yml plus the validators other packages register for their files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from common.config import (
    ConfigIssue,
    ConfigModel,
    FileValidator,
    LoadContext,
    check_config_dir,
    discover_validators,
    yaml_model_check,
)

VALID_SERVERS = "servers:\n  alpha:\n    log_path: a.log\n    rcon: {enabled: false}\n"


class MentionsModel(ConfigModel):
    """A stand-in for a file another package owns."""

    roles: dict[str, list[str]] = Field(default_factory=dict)


def make_dir(config_dir: Path, files: dict[str, str]) -> Path:
    """Create ``config_dir`` holding ``files`` (relative name -> text)."""
    for name, text in files.items():
        path = config_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return config_dir


class TestCheckConfigDir:
    def test_valid_directory(self, tmp_path: Path) -> None:
        """A valid directory gives the config and no issues."""
        make_dir(tmp_path, {"servers.yml": VALID_SERVERS})

        config, issues = check_config_dir(tmp_path, environ={}, validators=())

        assert config is not None
        assert (issues, list(config.servers)) == ([], ["alpha"])

    def test_collects_issues_from_every_file(self, tmp_path: Path) -> None:
        """Problems of servers.yml and of registered files come back together, by file and line."""
        make_dir(
            tmp_path,
            {
                "servers.yml": VALID_SERVERS + "    extra: 1\n",
                "mentions.yml": "roles:\n  admins: [ok]\nrols: {}\n",
                "patterns/a.yml": "roles: {x: [1]}\n",
                "patterns/b.yml": "roles: [\n",
            },
        )
        validators = [
            FileValidator("mentions.yml", yaml_model_check(MentionsModel)),
            FileValidator("patterns/*.yml", yaml_model_check(MentionsModel)),
        ]

        config, issues = check_config_dir(tmp_path, environ={}, validators=validators)

        assert None is config
        assert [
            (tmp_path / "mentions.yml", 3, "rols"),
            (tmp_path / "patterns" / "a.yml", 1, "roles.x[0]"),
            (tmp_path / "patterns" / "b.yml", 2, ""),
            (tmp_path / "servers.yml", 5, "servers.alpha.extra"),
        ] == [(issue.file, issue.line, issue.field) for issue in issues]

    def test_required_file_missing(self, tmp_path: Path) -> None:
        """A required file that is absent is one issue naming it."""
        make_dir(tmp_path, {"servers.yml": VALID_SERVERS})
        validator = FileValidator("secmon.yml", yaml_model_check(MentionsModel), required=True)

        _config, issues = check_config_dir(tmp_path, environ={}, validators=[validator])

        assert [ConfigIssue(tmp_path / "secmon.yml", None, "", "required file not found")] == issues

    def test_checks_receive_the_context(self, tmp_path: Path) -> None:
        """A custom check gets the file path and the absolute config dir and environment."""
        make_dir(tmp_path, {"servers.yml": VALID_SERVERS, "mentions.yml": "{}\n"})
        seen: list[tuple[Path, Path, str | None]] = []

        def check(path: Path, context: LoadContext) -> list[ConfigIssue]:
            seen.append((path, context.config_dir, context.environ.get("K")))
            return []

        check_config_dir(tmp_path, environ={"K": "v"}, validators=[FileValidator("*.yml", check)])

        assert [
            (tmp_path / "mentions.yml", tmp_path.absolute(), "v"),
            (tmp_path / "servers.yml", tmp_path.absolute(), "v"),
        ] == seen


class TestDiscoverValidators:
    def test_entry_points_are_found(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A validator published under isr.config_validators is run by check_config_dir."""
        plugin = tmp_path / "site"
        make_dir(
            plugin,
            {
                "isr_fake_plugin.py": textwrap.dedent(
                    """\
                    from common.config import ConfigModel, FileValidator, yaml_model_check

                    class Mentions(ConfigModel):
                        roles: dict[str, list[str]] = {}

                    VALIDATOR = FileValidator("fake-plugin.yml", yaml_model_check(Mentions))
                    """
                ),
                "isr_fake_plugin-0.1.dist-info/METADATA": (
                    "Metadata-Version: 2.1\nName: isr-fake-plugin\nVersion: 0.1\n"
                ),
                "isr_fake_plugin-0.1.dist-info/entry_points.txt": (
                    "[isr.config_validators]\nmentions = isr_fake_plugin:VALIDATOR\n"
                ),
            },
        )
        monkeypatch.syspath_prepend(str(plugin))
        config_dir = make_dir(
            tmp_path / "config", {"servers.yml": VALID_SERVERS, "fake-plugin.yml": "rolez: {}\n"}
        )

        _config, issues = check_config_dir(config_dir, environ={})

        assert "fake-plugin.yml" in [validator.pattern for validator in discover_validators()]
        assert [(config_dir / "fake-plugin.yml", 1, "rolez")] == [
            (issue.file, issue.line, issue.field) for issue in issues
        ]


class TestYamlModelCheck:
    def test_accepts_any_model(self, tmp_path: Path) -> None:
        """yaml_model_check works with a plain pydantic model too."""

        class Plain(BaseModel):
            n: int

        path = make_dir(tmp_path, {"x.yml": "n: nope\n"}) / "x.yml"

        issues = list(yaml_model_check(Plain)(path, LoadContext.create(tmp_path, {})))

        assert [(issue.line, issue.field) for issue in issues] == [(1, "n")]
