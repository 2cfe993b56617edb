"""Reply builders: RCON results and errors, help, the server list (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.commands.table import COMMANDS, ROOT, options_of
from bot.render import (
    FIELD_VALUE_LIMIT,
    Color,
    EmbedField,
    EmbedSpec,
    bullet_list,
    format_duration,
    format_evolution,
)
from bot.safety import hide_addresses, safe_text, truncate
from common.config import IsrConfig
from common.contracts import rcon

FOOTER = "Factorio ISR"


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers."""

    embed: EmbedSpec | None = None
    content: str = ""
    is_ephemeral: bool = False
    files: tuple[tuple[str, bytes], ...] = ()


def refusal(title: str, message: str) -> Reply:
    """An ephemeral error embed."""
    return Reply(EmbedSpec(title, message, Color.ERROR, footer=FOOTER), is_ephemeral=True)


_ERROR_TITLES = {
    rcon.RconErrorCode.RCON_UNAVAILABLE: "🔴 RCON unavailable",
    rcon.RconErrorCode.TIMEOUT: "⏱️ Timed out",
    rcon.RconErrorCode.UNKNOWN_PLAYER: "❓ Unknown player",
    rcon.RconErrorCode.NOT_BANNED: "❓ Not banned",
    rcon.RconErrorCode.NOT_ADMIN: "❓ Not an admin",
    rcon.RconErrorCode.UNKNOWN_SURFACE: "❓ Unknown surface",
    rcon.RconErrorCode.UNKNOWN_FORCE: "❓ Unknown force",
    rcon.RconErrorCode.UNKNOWN_TECHNOLOGY: "❓ Unknown technology",
    rcon.RconErrorCode.LUA_ERROR: "❌ Factorio error",
    rcon.RconErrorCode.COMMAND_FAILED: "❌ Factorio refused the command",
    rcon.RconErrorCode.INVALID_REQUEST: "❌ Bad argument",
    rcon.RconErrorCode.COMMAND_TOO_LONG: "❌ Command too long",
    # The poller does not know the caller token this bot sent: its Caller lists differ.
    rcon.RconErrorCode.UNKNOWN_CALLER: "🚫 Refused by the RCON poller",
}


def rcon_error(error: rcon.RconError, *, server_name: str) -> Reply:
    """A poller error as an ephemeral embed naming what went wrong."""
    title = _ERROR_TITLES.get(error.code, "❌ Error")
    # Poller errors can quote the socket error ("Connect call failed ('10.0.0.5', 27015)").
    message = safe_text(hide_addresses(error.message), limit=1500, single_line=False)
    return refusal(f"{title} — {safe_text(server_name, limit=80)}", message)


def transport_error(kind: str, *, server_name: str, timeout_s: float) -> Reply:
    """The poller could not be reached (``no_responders``) or did not answer (``timeout``)."""
    name = safe_text(server_name, limit=80)
    if kind == "no_responders":
        return refusal(
            "🔴 RCON unavailable", f"No RCON poller is running for {name}; try again later."
        )
    return refusal("⏱️ Timed out", f"{name} did not answer within {timeout_s:g} s.")


def _embed(
    title: str, description: str = "", *fields: EmbedField, color: int = Color.INFO
) -> Reply:
    return Reply(EmbedSpec(title, description, color, tuple(fields), footer=FOOTER))


def _player_done(
    verb: str, emoji: str, color: int, result: rcon.ModerationResult, server: str
) -> Reply:
    fields = [
        EmbedField("Player", safe_text(result.player, limit=80), inline=True),
        EmbedField("Server", server, inline=True),
    ]
    if result.detail:
        fields.append(EmbedField("Factorio", safe_text(result.detail, limit=500)))
    return _embed(f"{emoji} Player {verb}", "", *fields, color=color)


def rcon_success(  # noqa: PLR0911 - one branch per result kind
    result: rcon.RconResult,
    *,
    server_name: str,
    args: Mapping[str, object],
) -> Reply:
    """The public reply to a successful RCON command."""
    name = safe_text(server_name, limit=80)
    match result:
        case rcon.StatusResult():
            return _status(result, name)
        case rcon.PlayersResult(players=players):
            value = bullet_list(players) if players else "No players currently online."
            return _embed(
                f"👥 Players on {name}", "", EmbedField(f"Online Players ({len(players)})", value)
            )
        case rcon.VersionResult(version=version):
            return _embed(f"📦 {name} Version", f"`{safe_text(version, limit=50)}`")
        case rcon.SeedResult(seed=seed):
            return _embed(
                f"🌍 {name} Map Seed",
                "",
                EmbedField("Map Seed", f"`{seed}`"),
                EmbedField("Usage", "Use this seed in map generation to recreate the world."),
            )
        case rcon.EvolutionResult(surfaces=surfaces):
            return _evolution(surfaces, args)
        case rcon.AdminsResult(admins=admins, online=online):
            value = bullet_list(admins) if admins else "No administrators."
            extra = f"Online now: {len(online)}" if admins else ""
            return _embed(
                f"👑 {name} Administrators", extra, EmbedField(f"Admins ({len(admins)})", value)
            )
        case rcon.HealthResult():
            return _health(result, name)
        case rcon.ModerationResult(op=op):
            verbs = {
                "kick": ("Kicked", "⚠️", Color.WARNING),
                "ban": ("Banned", "🚫", 0xDC143C),
                "unban": ("Unbanned", "✅", Color.SUCCESS),
                "mute": ("Muted", "🔇", Color.WARNING),
                "unmute": ("Unmuted", "🔊", Color.SUCCESS),
                "promote": ("Promoted", "👑", Color.ADMIN),
                "demote": ("Demoted", "📙", Color.ADMIN),
            }
            verb, emoji, color = verbs[op]
            reply = _player_done(verb, emoji, color, result, name)
            if op in ("kick", "ban"):
                reason = (
                    args.get("reason") or ("Kicked" if op == "kick" else "Banned") + " by moderator"
                )
                assert reply.embed is not None
                fields = (
                    *reply.embed.fields,
                    EmbedField("Reason", safe_text(str(reason), limit=200)),
                )
                reply = Reply(
                    EmbedSpec(
                        reply.embed.title, "", color, fields, footer="Action performed via Discord"
                    )
                )
            return reply
        case rcon.SaveResult(name=save):
            label = safe_text(save, limit=64) if save else "current save"
            return _embed("💾 Game Saved", f"Save name: **{label}**", color=Color.SUCCESS)
        case rcon.BroadcastResult():
            message = safe_text(str(args.get("message", "")), limit=1000)
            return _embed(
                "📢 Broadcast Sent",
                f"Message: _{message}_\nAll online players have been notified.",
                color=Color.SUCCESS,
            )
        case rcon.WhisperResult(player=player):
            return _embed(
                "💬 Private Message Sent",
                "",
                EmbedField("Player", safe_text(player, limit=80), inline=True),
                EmbedField("Server", name, inline=True),
                EmbedField("Message", safe_text(str(args.get("message", "")), limit=1000)),
            )
        case rcon.WhitelistResult():
            return _whitelist(result)
        case rcon.ClockResult():
            return _clock(result)
        case rcon.SpeedResult(speed=speed):
            effect = "Normal" if speed == 1 else ("Slower" if speed < 1 else "Faster")
            return _embed(
                "⚡ Game Speed Set",
                "",
                EmbedField("New Speed", f"{speed:g}x", inline=True),
                EmbedField("Effect", effect, inline=True),
                EmbedField("Server", name, inline=True),
            )
        case rcon.ResearchResult():
            return _research(result)
        case rcon.RawResult(reply=text):
            shown = truncate(text, 1021) if text else "(no output)"
            return Reply(
                EmbedSpec(
                    "⌨️ RCON Command Executed",
                    "",
                    Color.WARNING,
                    (
                        EmbedField("Command", f"```{_code(str(args.get('command', '')), 1000)}```"),
                        EmbedField("Response", f"```{_code(shown, 1000)}```"),
                        EmbedField("Server", name, inline=True),
                    ),
                    footer="Dangerous operation - use with caution",
                )
            )
    return _embed("✅ Done", name, color=Color.SUCCESS)


def _code(text: str, limit: int) -> str:
    return truncate(text, limit).replace("```", "'''")


def _status(result: rcon.StatusResult, name: str) -> Reply:
    if result.is_paused:
        state = "⏸️ Paused"
    elif result.ups is None:
        state = "Fetching…"
    else:
        state = f"Running @ {result.ups:.1f}/{result.ups_target:.0f} UPS"
    fields = [
        EmbedField("📡 Server State", state, inline=True),
        EmbedField("👥 Players Online", str(len(result.players_online)), inline=True),
    ]
    if result.game_time_s is not None:
        fields.append(EmbedField("🕐 Game Time", format_duration(result.game_time_s), inline=True))
    if result.version:
        fields.append(EmbedField("📦 Version", safe_text(result.version, limit=40), inline=True))
    if result.players_online:
        fields.append(EmbedField("👥 Online Players", bullet_list(result.players_online)))
    if result.evolution:
        text = "\n".join(
            f"{safe_text(s, limit=40)}: {format_evolution(f)}"
            for s, f in sorted(result.evolution.items())
        )
        fields.append(EmbedField("🐛 Enemy Evolution", truncate(text, FIELD_VALUE_LIMIT)))
    return _embed(f"🏭 {name} Status", "", *fields, color=Color.FACTORIO)


def _evolution(surfaces: Mapping[str, float], args: Mapping[str, object]) -> Reply:
    target = str(args.get("target", "all"))
    if target.lower() != "all" and len(surfaces) == 1:
        ((surface, factor),) = surfaces.items()
        return _embed(
            f"🐛 Evolution - Surface `{safe_text(surface, limit=60)}`", format_evolution(factor)
        )
    if not surfaces:
        return _embed("🐛 Evolution - All Non-platform Surfaces", "No surfaces with enemies.")
    lines = [
        f"{safe_text(s, limit=40)}: {format_evolution(f)}" for s, f in sorted(surfaces.items())
    ]
    aggregate = sum(surfaces.values()) / len(surfaces)
    return _embed(
        "🐛 Evolution - All Non-platform Surfaces",
        f"Aggregate: **{format_evolution(aggregate)}**\n" + "\n".join(lines),
    )


def _health(result: rcon.HealthResult, name: str) -> Reply:
    rcon_state = "🟢 Connected" if result.is_connected else "🔴 Disconnected"
    fields = [
        EmbedField("🤖 Bot Status", "🟢 Online", inline=True),
        EmbedField("🔧 RCON Status", rcon_state, inline=True),
    ]
    if result.connected_since is not None:
        fields.append(
            EmbedField(
                "Connected since", f"<t:{int(result.connected_since.timestamp())}:R>", inline=True
            )
        )
    if result.last_error and not result.is_connected:
        fields.append(EmbedField("Last error", safe_text(result.last_error, limit=300)))
    if result.retry_in_s is not None and not result.is_connected:
        fields.append(EmbedField("Next attempt", f"in {result.retry_in_s:.0f} s", inline=True))
    color = Color.SUCCESS if result.is_connected else Color.ERROR
    return _embed(f"💚 {name} Health Check", "", *fields, color=color)


def _whitelist(result: rcon.WhitelistResult) -> Reply:
    player = safe_text(result.player or "", limit=80)
    match result.action:
        case "list":
            players = result.players or ()
            return _embed(
                "📋 Whitelist", bullet_list(players) if players else "The whitelist is empty."
            )
        case "enable":
            return _embed("✅ Whitelist Enabled", color=Color.SUCCESS)
        case "disable":
            return _embed("⚠️ Whitelist Disabled", color=Color.WARNING)
        case "add":
            return _embed(f"✅ {player} Added to Whitelist", color=Color.SUCCESS)
        case _:
            return _embed(f"🚫 {player} Removed from Whitelist", color=Color.WARNING)


def daytime_clock(daytime: float) -> str:
    """Factorio daytime (0 = noon) as a wall clock ``HH:MM``."""
    minutes = round(((daytime + 0.5) % 1.0) * 24 * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(result: rcon.ClockResult) -> Reply:
    text = f"Current daytime: {result.daytime:.2f} (🕐 {daytime_clock(result.daytime)})"
    titles = {
        "get": "🕐 Current Game Clock",
        "day": "☀️ Eternal Day Set",
        "night": "🌙 Eternal Night Set",
        "set": "🕐 Game Clock Updated",
    }
    frozen = " — frozen" if result.is_frozen else ""
    return _embed(titles[result.action], text + frozen)


def _research(result: rcon.ResearchResult) -> Reply:
    force = safe_text(result.force, limit=40)
    counts = f"{result.researched}/{result.total} technologies researched ({force})"
    tech = safe_text(result.technology or "", limit=80)
    titles = {
        "status": ("🔬 Technology Status", counts),
        "all": ("🔬 All Technologies Researched", counts),
        "undo_all": ("⏮️ All Technologies Reverted", counts),
        "undo": ("⏮️ Technology Reverted", f"**{tech}**\n{counts}"),
        "research": ("🔬 Technology Researched", f"**{tech}**\n{counts}"),
    }
    title, text = titles[result.action]
    return _embed(title, text, color=Color.SUCCESS)


def help_text() -> str:
    """``/factorio help``: every command with its parameters, from the table."""
    lines = ["**Factorio ISR commands** (every command also takes `server`)"]
    for spec in COMMANDS:
        params = " ".join(
            f"<{o.name}>" if o.required else f"[{o.name}]"
            for o in options_of(spec)
            if o.name != "server" or spec.name == "connect"
        )
        note = f" — {spec.usage_note}" if spec.usage_note else ""
        lines.append(f"`{spec.path}{' ' + params if params else ''}` {spec.description}{note}")
    return truncate("\n".join(lines), 2000)


def servers_list(config: IsrConfig, *, online: Mapping[str, bool], current: str | None) -> Reply:
    """``/factorio servers``: tag, name, description and state; never host or port."""
    fields = []
    for tag, server in config.servers.items():
        if server.rcon is None:
            state = "📄 Log only"
        else:
            state = "🟢 Online" if online.get(tag) else "🔴 Offline"
        marker = "👉 " if tag == current else ""
        description = safe_text(server.description, limit=200) if server.description else ""
        fields.append(
            EmbedField(
                f"{marker}{safe_text(server.name, limit=80)} (`{tag}`)",
                "\n".join(p for p in (description, state) if p),
            )
        )
    context = f"**Your Context:** `{current}`" if current else ""
    return Reply(
        EmbedSpec(
            "📱 Available Factorio Servers",
            context,
            Color.INFO,
            tuple(fields[:25]),
            footer=f"Use /{ROOT} connect to switch servers",
        )
    )


def connected(config: IsrConfig, tag: str, *, is_online: bool) -> Reply:
    """``/factorio connect``: the new default server."""
    server = config.servers[tag]
    status = "🟢 Connected" if is_online else "🟡 Connecting…"
    fields = [EmbedField("Tag", f"`{tag}`", inline=True), EmbedField("Status", status, inline=True)]
    if server.description:
        fields.append(EmbedField("Description", safe_text(server.description, limit=300)))
    return Reply(
        EmbedSpec(
            f"✅ Connected to {safe_text(server.name, limit=80)}",
            "All commands will now target this server.",
            Color.SUCCESS,
            tuple(fields),
            footer=FOOTER,
        )
    )


def autocomplete_servers(config: IsrConfig, typed: str) -> list[tuple[str, str]]:
    """(label, tag) of servers whose tag, name or description contains ``typed``; at most 25."""
    needle = typed.strip().lower()
    found = []
    for tag, server in config.servers.items():
        haystack = f"{tag} {server.name} {server.description}".lower()
        if needle in haystack:
            label = f"{tag} - {server.name}" + (
                f" ({server.description})" if server.description else ""
            )
            found.append((truncate(label, 100), tag))
    return found[:25]
