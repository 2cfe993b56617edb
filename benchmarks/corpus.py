"""A deterministic console-log corpus in real formats (about 70 % engine lines)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from simulator import log_lines as ll

NAMES = ["Cool-Guy", "J.R.", "grilled ham", "Jörg", "日本語", "Player_123", "alice", "bob"]
ENGINE_MESSAGES = [
    (
        "Info",
        "ServerMultiplayerManager.cpp:808",
        "updateTick(123) changing state from(Ready) to(InGame)",
    ),
    ("Verbose", "ModManager.cpp:554", "Time to load mods: 0.746762"),
    (
        "Info",
        "RemoteCommandProcessor.cpp:126",
        "New RCON connection from IP ADDR:({127.0.0.1:57463})",
    ),
    ("Warning", "FileUtil.cpp:527", "test not found; using test.zip"),
    ("Info", "MainLoop.cpp:448", "Saving progress: 100.000000%"),
]


def generate(count: int, *, seed: int = 1234) -> list[str]:
    """``count`` lines: ~70 % engine noise and saves, ~30 % game events with tricky names."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 12, 0, 0)  # noqa: DTZ001 - the log has no zone
    lines: list[str] = []
    for i in range(count):
        when = start + timedelta(seconds=i // 50)
        uptime = i / 50.0
        roll = rng.random()
        name = rng.choice(NAMES)
        if roll < 0.66:
            level, source, message = rng.choice(ENGINE_MESSAGES)
            lines.append(ll.engine_log_line(uptime, level, source, message))
        elif roll < 0.70:
            lines.append(ll.saving_to_line(uptime, f"_autosave{i % 5}"))
        elif roll < 0.82:
            lines.append(ll.chat_line(when, name, f"message {i} with: colons and ünïcode"))
        elif roll < 0.88:
            lines.append(ll.join_line(when, name))
        elif roll < 0.94:
            lines.append(ll.leave_line(when, name))
        elif roll < 0.97:
            lines.append(ll.command_line(when, name, f"game.print({i})"))
        else:
            lines.append(ll.kick_line(when, name, reason="afk"))
    return lines
