"""docs/discord.md stays in step with the command table; the entry point fails clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.docs import BEGIN, END, commands_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "discord.md"


def test_command_reference_is_generated_from_the_table():
    """The commands section of docs/discord.md is exactly what the table generates."""
    text = DOC.read_text(encoding="utf-8")

    between = text.split(BEGIN, 1)[1].split(END, 1)[0]

    assert between.strip() == commands_markdown().strip(), "run: uv run python -m bot.docs"


def test_bot_without_a_token_exits_with_a_clear_message(tmp_path: Path):
    """`isr bot` with neither ISR_DISCORD_TOKEN nor ISR_DISCORD_TOKEN_FILE says so and exits 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISR_DISCORD_")}
    env["ISR_CONFIG_DIR"] = str(tmp_path)

    result = subprocess.run(
        [sys.executable, "-m", "isr_cli", "bot"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 2
    assert "ISR_DISCORD_TOKEN" in result.stderr
