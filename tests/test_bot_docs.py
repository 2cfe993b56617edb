"""docs/discord.md stays in step with the command table."""

from __future__ import annotations

from pathlib import Path

from bot.docs import BEGIN, END, commands_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "discord.md"


def test_command_reference_is_generated_from_the_table():
    """The commands section of docs/discord.md is exactly what the table generates."""
    text = DOC.read_text(encoding="utf-8")

    between = text.split(BEGIN, 1)[1].split(END, 1)[0]

    assert between.strip() == commands_markdown().strip(), "run: uv run python -m bot.docs"
