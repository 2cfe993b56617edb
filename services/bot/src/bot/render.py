"""What the bot posts, as plain data, and how events, alerts and stats become it (pure).

:class:`Item` is one rendered event: a compact line or an embed, plus the ids it may ping.
:class:`Post` is one Discord message. Translating these to hikari objects happens only in
``bot.discord`` (hikari's ``EntityFactoryImpl`` style), so everything here is tested without I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.mentions import MentionedText, MentionResolver
from bot.safety import hide_addresses, safe_text, truncate
from common.contracts import Alert, AlertType, GameEvent, MetricSample, Severity
from common.invisible import strip_invisible

MESSAGE_LIMIT = 2000
"""Characters in one message's content."""
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
FIELD_VALUE_LIMIT = 1024
TEXT_LIMIT = 900
"""Characters of player text kept per event (a chat line of 2,000+ characters is cut)."""


class Color:
    """Embed colours (the original's palette, original-isr.md §4.13)."""

    SUCCESS = 0x00FF00
    INFO = 0x3498DB
    WARNING = 0xFFA500
    ERROR = 0xFF0000
    ADMIN = 0xFFC0CB
    FACTORIO = 0xFF6B00


@dataclass(frozen=True, slots=True)
class EmbedField:
    """One embed field."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class EmbedSpec:
    """An embed, without hikari."""

    title: str
    description: str = ""
    color: int | None = None
    fields: tuple[EmbedField, ...] = ()
    footer: str | None = None
    timestamp: datetime | None = None
    image: str | None = None
    """``attachment://<name>`` of an attached PNG."""

    def size(self) -> int:
        """Characters Discord counts towards the 6,000 per message."""
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer or "")
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )


@dataclass(frozen=True, slots=True)
class Item:
    """One rendered event: exactly one of ``line`` and ``embed``."""

    line: str | None = None
    embed: EmbedSpec | None = None
    user_ids: tuple[int, ...] = ()
    role_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Post:
    """One Discord message; ``user_ids``/``role_ids`` are the only pings it may make."""

    content: str = ""
    embeds: tuple[EmbedSpec, ...] = ()
    user_ids: tuple[int, ...] = ()
    role_ids: tuple[int, ...] = ()
    files: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    """Attachments as (file name, bytes)."""


DEFAULT_EMBED_KINDS = frozenset(
    {"kick", "ban", "unban", "promote", "demote", "research", "rocket", "achievement"}
)
"""Event kinds posted as embeds by default; every other kind is a compact line."""

PRIVATE_KINDS = frozenset({"whisper", "command"})
"""Kinds relayed only to a channel configured for exactly that kind (never to ``default``):
whispers are private in game and ``[COMMAND]`` lines may hold Lua."""

ADMIN_ENGINE_KINDS = frozenset(
    {"server_hosting", "rcon_ready", "save_started", "save_finished", "server_quitting",
     "engine_error"}
)  # fmt: skip
"""Engine kinds for admins, relayed only to a channel configured for exactly that kind (never
to ``default``): hosting and RCON start-up, every autosave, the second line of a signal stop and
engine or mod errors mean nothing to players. Start, stop and desync stay in ``default``."""

PLAYER_TEXT_KINDS = frozenset({"chat", "shout", "whisper", "command"})
"""Kinds whose ``message`` is a player's own words: shown as typed (escaped), never rewritten.
Every other text the relay posts passes :func:`bot.safety.hide_addresses`."""

_LINE_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d |\s*\d+\.\d{3} )"  # date or seconds since start
    r"(?:(?:Info|Warning|Error|Verbose|Debug) [\w.]+:\d+: )?"  # engine level and source file
)

_EMOJI = {
    "join": "👋",
    "leave": "🚪",
    "chat": "💬",
    "shout": "📣",
    "whisper": "🤫",
    "command": "⌨️",
    "kick": "👢",
    "ban": "🔨",
    "unban": "🕊️",
    "promote": "👑",
    "demote": "📙",
    "death": "💀",
    "research": "🔬",
    "research_started": "🧪",
    "rocket": "🚀",
    "achievement": "🏆",
    "server_start": "✅",
    "server_stopping": "🛑",
    "server_stopped": "⏹️",
    "server_hosting": "🌐",
    "rcon_ready": "🔌",
    "server_quitting": "🛑",
    "save_started": "💾",
    "save_finished": "💾",
    "desync": "⚠️",
    "engine_error": "❌",
    "command_error": "❌",
}


def _who(event: GameEvent) -> str:
    return f"**{safe_text(event.player, limit=100)}**" if event.player else ""


def _data(event: GameEvent, key: str) -> str:
    value = event.data.get(key)
    return safe_text(hide_addresses(str(value)), limit=200) if value not in (None, "") else ""


def _fallback(event: GameEvent) -> str:
    """A custom pattern's line: its text without date, engine level or source file, no address."""
    line = _LINE_PREFIX.sub("", strip_invisible(event.raw).strip())
    return safe_text(hide_addresses(line or event.type), limit=300)


def _in_brackets(text: str) -> str:
    return f" ({text})" if text else ""


def _sentence(event: GameEvent, text: str) -> str:  # noqa: PLR0911 - one wording per kind
    """The compact wording of an event, without emoji or server prefix."""
    who = _who(event)
    actor = _data(event, "actor")
    reason = f": {text}" if text else ""
    match event.type:
        case "join":
            return f"{who} joined the server"
        case "leave":
            return f"{who} left the server"
        case "chat" | "shout" | "whisper":
            return f"{who}: {text}" if who else text
        case "command":
            return f"{who} ran a command: {text}"
        case "kick":
            return f"{who} was kicked by {actor}{reason}"
        case "ban":
            return f"{who} was banned by {actor}{reason}"
        case "unban":
            return f"{who} was unbanned by {actor}"
        case "promote" if who:
            return f"{who} was promoted to admin by {actor}"
        case "demote" if who:
            return f"{who} was demoted from admin by {actor}"
        case "death":
            cause = _data(event, "cause")
            return f"{who} was killed by {cause}" if cause else f"{who} died"
        case "research":
            return f"Research completed: **{_data(event, 'technology')}**"
        case "research_started":
            return f"Research started: **{_data(event, 'technology')}**"
        case "rocket":
            return f"{who} launched a rocket!" if who else "A rocket was launched!"
        case "achievement":
            return f"{who} earned **{_data(event, 'achievement')}**"
        case "server_start":
            return f"Server started (Factorio {_data(event, 'version')})"
        case "server_hosting":
            return "Server is open for players"
        case "rcon_ready":
            return "RCON is ready"
        case "save_started":
            return f"Saving the map{_in_brackets(_data(event, 'save'))}"
        case "save_finished":
            return "Map saved"
        case "desync":
            return f"Multiplayer desync{_in_brackets(_data(event, 'to'))}"
        case "server_stopping":
            why = _data(event, "signal") or _data(event, "reason")
            return f"Server is shutting down{_in_brackets(why)}"
        case "server_quitting":
            return f"Server is quitting{_in_brackets(_data(event, 'reason'))}"
        case "server_stopped":
            return "Server stopped"
        case "engine_error" | "command_error":
            return f"{_title(event)}: {text}" if text else _title(event)
        case _:
            parts = [p for p in (who, text) if p]
            return ": ".join(parts) if parts else _fallback(event)


def _title(event: GameEvent) -> str:
    return event.type.replace("_", " ").capitalize()


def render_event(
    event: GameEvent,
    *,
    server_name: str,
    show_server: bool,
    as_embed: bool,
    mentions: MentionResolver | None,
) -> Item:
    """One event as a compact line or an embed; only chat-like text may ping (mentions.yml)."""
    text = ""
    mentioned = MentionedText("")
    message = strip_invisible(event.message or "")
    if event.type not in PLAYER_TEXT_KINDS:
        message = hide_addresses(message)
    if message:
        if mentions is not None and event.type in ("chat", "shout"):
            mentioned = mentions.render(event.server, event.player, message, limit=TEXT_LIMIT)
            text = mentioned.text
        else:
            text = safe_text(message, limit=TEXT_LIMIT)
    emoji = _EMOJI.get(event.type, "📝")
    sentence = _sentence(event, text)
    if as_embed:
        embed = EmbedSpec(
            title=f"{emoji} {_title(event)}",
            description=sentence,
            color=_event_color(event.type),
            footer=safe_text(server_name, limit=100),
            timestamp=_aware(event.ts or event.observed_at),
        )
        return Item(embed=embed, user_ids=mentioned.user_ids, role_ids=mentioned.role_ids)
    prefix = f"`[{safe_text(server_name, limit=60)}]` " if show_server else ""
    line = truncate(f"{emoji} {prefix}{sentence}", MESSAGE_LIMIT)
    return Item(line=line, user_ids=mentioned.user_ids, role_ids=mentioned.role_ids)


def _aware(moment: datetime) -> datetime:
    # Events from a parser older than log_timezone carry the log's zone-less date: UTC then,
    # the default zone (Discord wants an instant; hikari warns about naive times).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _event_color(kind: str) -> int:
    if kind in ("kick", "ban", "engine_error", "desync"):
        return Color.ERROR
    if kind in ("unban", "promote", "demote"):
        return Color.ADMIN
    if kind in ("research", "rocket", "achievement"):
        return Color.SUCCESS
    return Color.INFO


_ALERT_TITLES = {
    AlertType.UPS_LOW: "⚠️ Low UPS",
    AlertType.UPS_RECOVERED: "✅ UPS recovered",
    AlertType.RCON_DOWN: "🔴 RCON connection lost",
    AlertType.RCON_UP: "🟢 RCON reconnected",
    AlertType.PATTERNS_INVALID: "🧩 Pattern files rejected",
    AlertType.CONFIG_INVALID: "⚙️ Configuration rejected",
}
_SEVERITY_COLOR = {
    Severity.INFO: Color.SUCCESS,
    Severity.WARNING: Color.WARNING,
    Severity.CRITICAL: Color.ERROR,
}
_ALERT_FIELDS = (
    ("ups", "Current UPS"),
    ("ups_ema", "UPS (EMA)"),
    ("threshold", "Threshold"),
    ("samples", "Consecutive samples"),
    ("downtime_s", "Downtime (s)"),
)


def render_alert(alert: Alert, *, server_name: str) -> Item:
    """An alert as an embed (low UPS, recovered, RCON down/up, rejected pattern files...)."""
    fields = []
    for key, label in _ALERT_FIELDS:
        value = alert.details.get(key)
        if isinstance(value, float):
            fields.append(EmbedField(label, f"{value:.1f}", inline=True))
        elif isinstance(value, int):
            fields.append(EmbedField(label, str(value), inline=True))
    problems = alert.details.get("problems")
    if isinstance(problems, list) and problems:
        listed = "\n".join(safe_text(str(p), limit=200) for p in problems[:5])
        fields.append(EmbedField("Problems", truncate(listed, FIELD_VALUE_LIMIT)))
    title = _ALERT_TITLES.get(alert.type, f"🔔 {alert.type}")
    return Item(
        embed=EmbedSpec(
            title=f"{title} — {safe_text(server_name, limit=100)}",
            description=safe_text(hide_addresses(alert.summary), limit=1500),
            color=_SEVERITY_COLOR.get(alert.severity, Color.WARNING),
            fields=tuple(fields),
            footer="Factorio ISR",
            timestamp=alert.raised_at,
        )
    )


def format_evolution(value: float) -> str:
    """A factor as a percentage: 2 decimals, or 4 below 0.1 % (as the original)."""
    percent = value * 100
    return f"{percent:.4f}%" if percent < 0.1 else f"{percent:.2f}%"


def format_duration(seconds: float) -> str:
    """``1d 2h 3m 4s`` (largest units only, zero units dropped)."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return " ".join(parts) or "0s"


def bullet_list(names: Iterable[str], *, limit: int = FIELD_VALUE_LIMIT) -> str:
    """Sorted names as a bullet list, cut to ``limit`` characters with a count of the rest."""
    ordered = sorted(names, key=str.lower)
    lines: list[str] = []
    used = 0
    for index, name in enumerate(ordered):
        line = f"• {safe_text(name, limit=60)}"
        rest = len(ordered) - index
        if used + len(line) + 20 > limit:
            lines.append(f"… and {rest} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def render_stats(
    sample: MetricSample | None, *, server_name: str, now: datetime, stale_after_s: float
) -> EmbedSpec:
    """The periodic stats embed: UPS, players, game time and evolution from the last sample."""
    title = f"📊 {safe_text(server_name, limit=100)} status"
    if sample is None:
        return EmbedSpec(title, "No metrics received yet.", Color.WARNING, timestamp=now)
    age_s = (now - sample.sampled_at).total_seconds()
    if not sample.rcon_up:
        return EmbedSpec(
            title, "🔴 RCON unreachable: no fresh metrics.", Color.ERROR, timestamp=now
        )
    fields = [_ups_field(sample)]
    fields.append(EmbedField("👥 Players online", str(sample.player_count), inline=True))
    if sample.game_time_s is not None:
        fields.append(EmbedField("⏰ Game time", format_duration(sample.game_time_s), inline=True))
    if sample.players_online:
        fields.append(EmbedField("📝 Players", bullet_list(sample.players_online)))
    if sample.evolution:
        if len(sample.evolution) == 1:
            ((_surface, factor),) = sample.evolution.items()
            fields.append(EmbedField("🐛 Evolution", format_evolution(factor), inline=True))
        else:
            text = "\n".join(
                f"{safe_text(s, limit=40)}: {format_evolution(f)}"
                for s, f in sorted(sample.evolution.items())
            )
            fields.append(EmbedField("🐛 Evolution by surface", truncate(text, FIELD_VALUE_LIMIT)))
    description = "" if age_s <= stale_after_s else f"⚠️ Last sample {format_duration(age_s)} ago."
    return EmbedSpec(
        title,
        description,
        Color.INFO,
        fields=tuple(fields),
        footer="Factorio ISR",
        timestamp=sample.sampled_at,
    )


def _ups_field(sample: MetricSample) -> EmbedField:
    if sample.is_paused:
        return EmbedField("⏸️ UPS", "Paused", inline=True)
    if sample.ups is None:
        return EmbedField("UPS", "unknown", inline=True)
    mark = "✅" if sample.ups >= sample.ups_target * 0.98 else "⚠️"
    return EmbedField(f"{mark} UPS", f"{sample.ups:.1f}/{sample.ups_target:.0f}", inline=True)


def utc_now() -> datetime:
    """The current UTC time (the shell's clock; pure code takes ``now`` as an argument)."""
    return datetime.now(UTC)
