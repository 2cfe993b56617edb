"""docs/configuration.md stays in step with the models and the original-key mapping."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from common.config import CommandCooldown, DiscordConfig, ServerConfig
from common.config.legacy import ORIGINAL_SERVER_KEYS, UNCHANGED_SERVER_KEYS

REPO_ROOT = Path(__file__).resolve().parents[3]
DOC = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of the fields under ``model``, nested models expanded (not cooldown buckets)."""
    paths = []
    for name, info in model.model_fields.items():
        nested = [
            arg
            for arg in (info.annotation, *typing.get_args(info.annotation))
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg is not CommandCooldown
        ]
        if nested:
            paths.extend(field_paths(nested[0], f"{prefix}{name}."))
        else:
            paths.append(f"{prefix}{name}")
    return paths


def mapping_rows() -> dict[str, str]:
    """Original key -> ISR key, from the doc's mapping table."""
    rows = re.findall(r"^\| `([a-z_]+)` \| `([^`]+)`", DOC, flags=re.MULTILINE)
    return dict(rows)


class TestConfigurationReference:
    def test_every_server_field_is_documented(self) -> None:
        """Each server field appears in backticks in the reference."""
        paths = field_paths(ServerConfig)

        missing = [path for path in paths if f"`{path}`" not in DOC]

        assert missing == []

    def test_cooldown_bucket_keys_are_documented(self) -> None:
        """The keys inside a cooldown bucket are documented once, generically."""
        keys = list(CommandCooldown.model_fields)

        assert [key for key in keys if f"`cooldowns.<bucket>.{key}`" not in DOC] == []

    def test_discord_fields_are_documented(self) -> None:
        """Each discord field appears as discord.<field>."""
        missing = [p for p in field_paths(DiscordConfig, "discord.") if f"`{p}`" not in DOC]

        assert missing == []

    def test_every_original_key_is_mapped(self) -> None:
        """Every original key maps, in the doc, to the place the loader's hint names."""
        rows = mapping_rows()

        assert {key: place.split(" ")[0] for key, place in ORIGINAL_SERVER_KEYS.items()} == {
            key: rows.get(key) for key in ORIGINAL_SERVER_KEYS
        }
        assert all(rows.get(key) == key for key in UNCHANGED_SERVER_KEYS)
