"""The command reference of docs/discord.md, generated from the command table (pure).

``python -m bot.docs`` prints it; a test checks that docs/discord.md holds exactly this text
between the ``<!-- commands:begin -->`` and ``<!-- commands:end -->`` markers.
"""

from __future__ import annotations

from bot.commands.table import COMMANDS, ROOT_DESCRIPTIONS, OptionType, PermClass, options_of

BEGIN = "<!-- commands:begin -->"
END = "<!-- commands:end -->"

_TYPE = {OptionType.STRING: "text", OptionType.INTEGER: "integer", OptionType.NUMBER: "number"}
_WHO = {
    PermClass.NONE: "anyone",
    PermClass.QUERY: "query",
    PermClass.ADMIN: "admin",
    PermClass.DANGER: "danger",
}


def commands_markdown() -> str:
    """One table per top-level command: parameters, permission, cooldown, defer, notes."""
    parts = []
    for root, description in ROOT_DESCRIPTIONS.items():
        parts.append(f"### `/{root}` — {description}\n")
        parts.append("| Command | Parameters | Permission | Cooldown | Defers | What it does |")
        parts.append("|---|---|---|---|---|---|")
        for spec in (c for c in COMMANDS if c.root == root):
            params = ", ".join(
                f"`{o.name}` ({_TYPE[o.type]}{', required' if o.required else ''}"
                f"{', ' + '/'.join(o.choices) if o.choices else ''})"
                for o in options_of(spec)
            )
            cooldown = spec.cooldown.value if spec.cooldown else "none"
            note = f" ({spec.usage_note})" if spec.usage_note else ""
            parts.append(
                f"| `{spec.name}` | {params} | {_WHO[spec.perm]} | {cooldown} | "
                f"{'yes' if spec.defers else 'no'} | {spec.description}{note} |"
            )
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(commands_markdown(), end="")  # noqa: T201
