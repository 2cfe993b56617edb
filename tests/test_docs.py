"""The user documentation stays true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from bot.settings import BotSettings, DiscordSettings
from common.settings import (
    HealthSettings,
    LogSettings,
    NatsSettings,
    OtelSettings,
    PipelineSettings,
    PostgresSettings,
    RuntimeSettings,
    StreamSettings,
)
from parser.settings import ParserSettings
from persistence.settings import PersistenceSettings, TableRetentionSettings
from rcon_poller.settings import PollerSettings
from tailer.settings import TailerSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [
    PipelineSettings,
    NatsSettings,
    PostgresSettings,
    LogSettings,
    OtelSettings,
    HealthSettings,
    RuntimeSettings,
    StreamSettings,
    TailerSettings,
    ParserSettings,
    PersistenceSettings,
    TableRetentionSettings,
    PollerSettings,
    BotSettings,
    DiscordSettings,
]


def env_names(settings: type[BaseSettings]) -> list[str]:
    """The environment variable of every scalar field of a settings class."""
    prefix = settings.model_config.get("env_prefix", "")
    names = []
    for name, field in settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue  # a nested group: documented under its own prefix
        names.append(f"{prefix}{name}".upper())
    return names


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_readme_lists_every_environment_variable(settings: type[BaseSettings]):
    """Every setting a service reads from the environment is in the README's table."""
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(ISR_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))

    assert set(env_names(settings)) - documented == set()


def test_readme_links_point_at_files():
    """Every relative link in README.md names a file that exists."""
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)

    missing = [link for link in links if not (ROOT / link).exists()]

    assert missing == []
