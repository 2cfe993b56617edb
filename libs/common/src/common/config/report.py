"""Plain-text renderings of a config check, for ``isr check-config`` and start-up banners.

Nothing here prints a secret: RCON is shown as ``host:port`` and where its password comes from
(``env:VAR`` / ``file:PATH``), never the password.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from common.config.errors import ConfigIssue
from common.config.models import IsrConfig, PermissionsConfig, ServerConfig

_HEADERS = ("TAG", "NAME", "LOG PATH", "RCON", "CHANNELS", "PERMISSIONS")


def format_issues(issues: Iterable[ConfigIssue]) -> str:
    """One issue per line: ``file:line: field: message``."""
    return "\n".join(str(issue) for issue in issues)


def format_summary(config: IsrConfig) -> str:
    """A table of the servers plus the bot-wide Discord settings."""
    rows = [_row(tag, server) for tag, server in config.servers.items()]
    guilds = config.discord.guild_ids
    count = len(config.servers)
    footer = [
        "",
        f"{count} server{'' if count == 1 else 's'} OK.",
        "Discord guilds: "
        + (", ".join(map(str, guilds)) if guilds else "none listed, so the bot serves no guild")
        + f"; presence {'on' if config.discord.presence else 'off'}.",
    ]
    return "\n".join([*_table([_HEADERS, *rows]), *footer])


def _row(tag: str, server: ServerConfig) -> tuple[str, ...]:
    rcon = (
        f"{server.rcon.host}:{server.rcon.port} ({server.rcon.password_ref.kind})"
        if server.rcon is not None
        else "off"
    )
    channels = str(len(server.channels))
    if server.channels:
        channels += f" ({', '.join(server.channels)})"
    return (
        tag,
        server.name,
        str(server.log_path),
        rcon,
        channels,
        _permissions(server.permissions),
    )


def _permissions(permissions: PermissionsConfig) -> str:
    def roles(ids: Sequence[int] | None, *, none_means: str) -> str:
        if ids is None:
            return none_means
        if not ids:
            return "denied"
        return f"{len(ids)} role{'' if len(ids) == 1 else 's'}"

    return (
        f"query: {roles(permissions.query, none_means='everyone')}, "
        f"admin: {roles(permissions.admin, none_means='denied')}, "
        f"danger: {roles(permissions.danger, none_means='denied')}"
    )


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
