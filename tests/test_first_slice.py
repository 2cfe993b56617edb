"""End to end through real processes: console log -> tailer -> parser -> persistence -> Postgres."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import asyncpg
import nats
import pytest

from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events
from isr_testing.waiting import wait_for

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

NAMES = ["Cool-Guy", "J.R.", "grilled ham", "Jörg", "日本語", "Player_123"]


def mixed_lines(count: int, seed: int = 7) -> tuple[list[str], int]:
    """Real-format console lines (events and engine noise); returns them and how many are events."""
    rng = random.Random(seed)
    lines, events = [], 0
    for i in range(count):
        stamp = f"2026-11-27 12:{i // 60 % 60:02d}:{i % 60:02d}"
        name = rng.choice(NAMES)
        kind = rng.randrange(5)
        if kind == 0:
            lines.append(f"{stamp} [JOIN] {name} joined the game")
        elif kind == 1:
            lines.append(f"{stamp} [LEAVE] {name} left the game")
        elif kind == 2:
            lines.append(f"{stamp} [CHAT] {name}: message {i}: ünïcode ok")
        elif kind == 3:
            lines.append(f"{i:8.3f} Verbose ModManager.cpp:554: Time to load mods: 0.{i:06d}")
            continue
        else:
            lines.append(f"Players ({i % 3}):")
            continue
        events += 1
    return lines, events


@pytest.fixture(name="slice_env")
def _slice_env(tmp_path: Path, nats_server, nats_prefix: str, database_url: str) -> dict[str, str]:
    """A config dir with one server whose log starts empty, and the services' environment."""
    config = write_config(tmp_path / "config", {"e2e": tmp_path / "console.log"})
    (tmp_path / "console.log").write_text("")
    return service_env(
        nats_server.url,
        nats_prefix,
        config,
        ISR_DATABASE_URL=database_url,
        ISR_HEALTH_ENABLED="true",
        ISR_HEALTH_PORT="0",
    )


async def _count_rows(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM events")
            if await conn.fetchval("SELECT to_regclass('events') IS NOT NULL")
            else 0
        )
    finally:
        await conn.close()


async def test_every_line_becomes_exactly_one_row_despite_sigkills(
    tmp_path: Path, slice_env: dict[str, str], database_url: str, nats_server, nats_prefix: str
):
    """1,000 mixed lines give one row per event line, with parser and writer SIGKILLed midway."""
    lines, expected = mixed_lines(1000)
    log = tmp_path / "console.log"
    procs = {
        name: ServiceProcess(name, args, slice_env, tmp_path)
        for name, args in {
            "tailer": ["tailer", "--server", "e2e"],
            "parser": ["parser"],
            "persistence": ["persistence"],
        }.items()
    }
    for proc in procs.values():
        proc.start()
    try:
        with log.open("a", encoding="utf-8") as f:
            for i, line in enumerate(lines):
                f.write(line + "\n")
                if i % 50 == 49:
                    f.flush()
                    await asyncio.sleep(0)  # let the children see appends in several reads
                if i == 400:
                    f.flush()
                    await wait_for(
                        lambda: _count_rows(database_url), timeout_s=60, what="first rows"
                    )
                    procs["parser"].kill()
                    procs["persistence"].kill()
                if i == 600:
                    f.flush()
                    procs["parser"].start()
                    procs["persistence"].start()
                if i == 800:
                    f.flush()
                    procs["persistence"].kill()
                    procs["persistence"].start()

        async def all_rows() -> bool:
            return await _count_rows(database_url) >= expected

        await wait_for(all_rows, timeout_s=90, what=f"{expected} rows")

        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT id, type, player, raw FROM events ORDER BY generation, source_offset"
            )
        finally:
            await conn.close()
        event_lines = [
            ln for ln in lines if " [JOIN] " in ln or " [LEAVE] " in ln or " [CHAT] " in ln
        ]
        assert [r["raw"] for r in rows] == event_lines
        assert len({r["id"] for r in rows}) == expected

        nc = await nats.connect(nats_server.url)
        try:
            streamed = await read_events(
                nc.jetstream(), f"{nats_prefix}.events.>", count=expected, timeout_s=30
            )
        finally:
            await nc.close()
        assert len(streamed) == expected
        assert len({e.id for e in streamed}) == expected
    finally:
        codes = {name: proc.terminate() for name, proc in procs.items()}
    assert codes == {"tailer": 0, "parser": 0, "persistence": 0}, {
        name: proc.output()[-3000:] for name, proc in procs.items()
    }
    for proc in procs.values():
        for raw in proc.output().splitlines():
            if raw.startswith("{"):
                assert json.loads(raw).get("level") != "error", raw
