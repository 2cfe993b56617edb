"""Load ``servers.yml`` into an :class:`IsrConfig`, collecting every problem of every server.

Steps: parse the YAML (syntax errors name their line), validate the top level, then validate
each server *separately* with ``defaults:`` deep-merged under it, so one bad server never
hides another's mistakes; finally check rules across servers (two servers on one log file).
Every pydantic error is mapped back to the line it came from. A mistake inside ``defaults:``
is reported once, at its own line, not once per server.

:func:`check_config_dir` also runs the validators other packages publish for the rest of the
directory (see :mod:`common.config.registry`); that is what ``isr check-config`` calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails

from common.config.context import LoadContext
from common.config.documents import Loc, YamlDocument, format_loc, read_yaml
from common.config.errors import ConfigError, ConfigIssue, sort_issues
from common.config.issues import issues_from_validation_error, translate_errors
from common.config.legacy import ORIGINAL_SERVER_KEYS
from common.config.models import (
    RULE_ERROR,
    ConfigModel,
    DiscordConfig,
    IsrConfig,
    ServerConfig,
    ServerTag,
)
from common.config.registry import FileValidator, discover_validators

SERVERS_FILE = "servers.yml"
"""The one required file of the config directory."""

_DEFAULTS: Loc = ("defaults",)
# Errors that depend on the server the default is merged into, not on the default's value.
_CONTEXTUAL_ERRORS = frozenset({"missing", RULE_ERROR})


class _ServersDocument(ConfigModel):
    """The top level of servers.yml; server entries are validated one by one afterwards."""

    version: Literal[1] = 1
    defaults: dict[str, Any] = Field(default_factory=dict)
    discord: DiscordConfig = DiscordConfig()
    servers: Annotated[dict[ServerTag, Any], Field(min_length=1)]


def load_config(
    config_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    resolve_secrets: bool = True,
) -> IsrConfig:
    """Load and validate ``config_dir/servers.yml``, resolving secret references.

    Args:
        config_dir: the configuration directory; relative paths in the file start here.
        environ: where ``*_env`` references are looked up (default: the process environment).
        resolve_secrets: False checks secret references only for shape (a ``*_env`` must
            name a variable, a ``*_file`` must be a path) without reading them, so a service
            that never sends a secret (tailer, parser, bot: only the rcon-poller speaks RCON)
            starts without the RCON passwords in its environment or file system.
            ``isr check-config`` and ``isr up`` keep the default and resolve everything.

    Raises:
        ConfigError: listing every problem found, each with file, line and field.
    """
    context = LoadContext.create(config_dir, environ)
    if not resolve_secrets:
        context = dataclasses.replace(context, resolve_secrets=False)
    config, issues = _load_servers(config_dir, context)
    if config is None:
        raise ConfigError(issues)
    return config


def check_config_dir(
    config_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    validators: Iterable[FileValidator] | None = None,
) -> tuple[IsrConfig | None, list[ConfigIssue]]:
    """Validate the whole directory: ``servers.yml`` plus every registered file validator.

    Args:
        config_dir: the configuration directory.
        environ: where ``*_env`` references are looked up (default: the process environment).
        validators: validators for the other files (default: :func:`discover_validators`).

    Returns:
        The servers config (None when servers.yml has problems) and every problem found in
        any file, sorted by file and line.
    """
    context = LoadContext.create(config_dir, environ)
    config, issues = _load_servers(config_dir, context)
    if config_dir.is_dir():
        for validator in discover_validators() if validators is None else validators:
            issues.extend(validator.run(config_dir, context))
    return config, sort_issues(issues)


def config_from_document(
    document: YamlDocument, context: LoadContext
) -> tuple[IsrConfig | None, list[ConfigIssue]]:
    """Validate a parsed servers.yml; the config is None when there is any problem."""
    data = document.data
    if not isinstance(data, dict):
        found = "the file is empty" if data is None else "the top level is not a mapping"
        message = f"{found}; servers.yml needs a `servers:` mapping of tag -> server"
        return None, [ConfigIssue(document.path, document.line_of(()), "", message)]
    issues: list[ConfigIssue] = []
    root: _ServersDocument | None = None
    try:
        root = _ServersDocument.model_validate(data, context=context)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, document, model=_ServersDocument))

    raw_defaults = data.get("defaults")
    defaults = raw_defaults if isinstance(raw_defaults, dict) else {}
    raw_servers = data.get("servers")
    servers: dict[str, ServerConfig] = {}
    for tag, entry in (raw_servers if isinstance(raw_servers, dict) else {}).items():
        server = _validate_server(
            document, context, tag=tag, entry=entry, defaults=defaults, issues=issues
        )
        if server is not None:
            servers[tag] = server
    issues.extend(_cross_server_issues(document, servers))

    if root is None or issues:
        return None, sort_issues(issues)
    return IsrConfig(version=root.version, discord=root.discord, servers=servers), []


def _load_servers(
    config_dir: Path, context: LoadContext
) -> tuple[IsrConfig | None, list[ConfigIssue]]:
    if not config_dir.is_dir():
        message = "configuration directory not found (set ISR_CONFIG_DIR or pass the directory)"
        return None, [ConfigIssue(config_dir, None, "", message)]
    path = config_dir / SERVERS_FILE
    if not path.exists():  # anything else there (a device, a FIFO) is read_yaml's to refuse
        hint = " (found servers.yaml: rename it to servers.yml)"
        hint = hint if (config_dir / "servers.yaml").exists() else ""
        message = f"file not found{hint}; see docs/configuration.md for a starting point"
        return None, [ConfigIssue(path, None, "", message)]
    try:
        document = read_yaml(path)
    except ConfigError as exc:
        return None, list(exc.issues)
    return config_from_document(document, context)


def _validate_server(
    document: YamlDocument,
    context: LoadContext,
    *,
    tag: Any,
    entry: Any,
    defaults: dict[str, Any],
    issues: list[ConfigIssue],
) -> ServerConfig | None:
    server_loc: Loc = ("servers", tag)
    if entry is None:
        entry = {}  # `alpha:` with nothing under it: everything comes from defaults
    if isinstance(entry, dict):
        data, origins = _merge(defaults, entry, server_loc)
        data.setdefault("name", str(tag))
    else:
        data, origins = entry, {(): server_loc}
    try:
        return ServerConfig.model_validate(data, context=context)
    except ValidationError as exc:

        def locate(loc: Loc, details: ErrorDetails) -> tuple[Loc, str]:
            return _locate(origins, server_loc, loc, details)

        issues.extend(
            translate_errors(
                exc,
                document,
                locate=locate,
                model=ServerConfig,
                legacy_keys=ORIGINAL_SERVER_KEYS,
            )
        )
        return None


def _merge(
    defaults: dict[str, Any], entry: dict[str, Any], entry_loc: Loc
) -> tuple[dict[str, Any], dict[Loc, Loc]]:
    """Deep-merge ``entry`` over ``defaults``; also map each merged path to where it is written.

    Mappings merge key by key; any other value (a list, a scalar, null) in the entry replaces
    the default outright.
    """
    origins: dict[Loc, Loc] = {(): entry_loc}

    def walk(
        base: dict[str, Any], over: dict[str, Any], rel: Loc, base_loc: Loc, over_loc: Loc
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for key, value in base.items():
            if key not in over:
                merged[key] = value
                origins[(*rel, key)] = (*base_loc, key)
        for key, value in over.items():
            below = base.get(key)
            if isinstance(below, dict) and isinstance(value, dict):
                key_locs = ((*rel, key), (*base_loc, key), (*over_loc, key))
                merged[key] = walk(below, value, *key_locs)
            else:
                merged[key] = value
            origins[(*rel, key)] = (*over_loc, key)
        return merged

    return walk(defaults, entry, (), _DEFAULTS, entry_loc), origins


def _locate(
    origins: Mapping[Loc, Loc], server_loc: Loc, loc: Loc, details: ErrorDetails
) -> tuple[Loc, str]:
    """Where a server's error is written, and the field to name.

    A bad value written under ``defaults:`` is named there (and so reported once for all
    servers); a missing key or broken rule is named on the server, at the default's line.
    """
    doc_loc: Loc = (*server_loc, *loc)
    for end in range(len(loc), -1, -1):
        origin = origins.get(loc[:end])
        if origin is not None:
            doc_loc = (*origin, *loc[end:])
            break
    if doc_loc[: len(_DEFAULTS)] != _DEFAULTS:
        return doc_loc, format_loc(doc_loc)
    if details["type"] not in _CONTEXTUAL_ERRORS:
        return doc_loc, format_loc(doc_loc)
    return doc_loc, f"{format_loc((*server_loc, *loc))} (from defaults)"


def _cross_server_issues(
    document: YamlDocument, servers: Mapping[str, ServerConfig]
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    log_owner: dict[Path, str] = {}
    rcon_owner: dict[tuple[str, int], str] = {}
    bridge_owner: dict[int, str] = {}
    for tag, server in servers.items():
        first = log_owner.setdefault(server.log_path, tag)
        if first != tag:
            message = f"same log file as server {first}; each server needs its own console log"
            issues.append(document.issue(("servers", tag, "log_path"), message))
        if server.rcon is not None:
            endpoint = (server.rcon.host, server.rcon.port)
            first = rcon_owner.setdefault(endpoint, tag)
            if first != tag:
                message = f"same RCON endpoint {endpoint[0]}:{endpoint[1]} as server {first}"
                issues.append(document.issue(("servers", tag, "rcon", "port"), message))
        if server.bridge.enabled and server.bridge.channel_id is not None:
            first = bridge_owner.setdefault(server.bridge.channel_id, tag)
            if first != tag:
                message = f"channel already bridged to server {first}"
                issues.append(document.issue(("servers", tag, "bridge", "channel_id"), message))
    return issues
