"""Console line → Discord request latency through the whole pipeline, at 100 lines/s.

Ours: a line appended to the console log goes through the tailer, a parser worker, the events
stream and the bot (real processes, real nats-server) to the fake Discord's ``POST
/channels/{id}/messages``; the latency of a line is the time from its append to the arrival of
the request that carries it (both clocks in this process).

Baseline, measured in the same run, works the way the original bot did (original-isr.md §2.1,
§4.1): one loop reads one line per iteration, sleeps 0.1 s whenever ``readline()`` returns
nothing, and awaits one Discord post per line, in the same process as the tail loop.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from isr_cli.infra import EmbeddedNats
from isr_testing.fakediscord import FakeDiscord, payloads

RATE_PER_S = 100
LINES = 1000
WARMUP = 50
CHANNEL = 5001


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _config(root: Path, log: Path) -> Path:
    config = root / "config"
    config.mkdir()
    (config / "servers.yml").write_text(
        f"discord:\n  guild_ids: [{payloads.GUILD_ID}]\n  presence: false\n"
        f"servers:\n  bench:\n    log_path: {log}\n    log_start: beginning\n"
        f"    rcon:\n      enabled: false\n    channels:\n      default: {CHANNEL}\n"
    )
    return config


async def _write_lines(log: Path, sent: dict[int, float], count: int) -> None:
    """Append ``count`` chat lines at RATE_PER_S, recording when each was flushed."""
    start = time.monotonic()
    with log.open("a", encoding="utf-8") as f:
        for i in range(count):
            due = start + i / RATE_PER_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            f.write(f"2026-11-27 12:00:00 [CHAT] bench: message {i}\n")
            f.flush()
            sent[i] = time.monotonic()


def _latencies(fake: FakeDiscord, sent: dict[int, float]) -> list[float]:
    seen: dict[int, float] = {}
    for request in fake.posts(CHANNEL):
        content = (request.json or {}).get("content") or ""
        for line in content.splitlines():
            number = int(line.rsplit(" ", 1)[1]) if "message " in line else -1
            seen.setdefault(number, request.at)
    return [(seen[i] - sent[i]) * 1000 for i in sent if i >= WARMUP and i in seen]


async def ours(url: str, root: Path) -> list[float]:
    """Latencies (ms) through tailer, parser and bot."""
    log = root / "ours.log"
    log.write_text("")
    (root / "ours").mkdir()
    config = _config(root / "ours", log)
    async with FakeDiscord() as fake:
        env = {
            **os.environ,
            "ISR_NATS_URL": url,
            "ISR_PREFIX": "benchbot",
            "ISR_CONFIG_DIR": str(config),
            "ISR_HEALTH_ENABLED": "false",
            "ISR_LOG_LEVEL": "warning",
            "ISR_LOG_FORMAT": "json",
            "ISR_DISCORD_TOKEN": payloads.TOKEN,
            "ISR_DISCORD_API_URL": fake.rest_url,
        }
        procs = [
            subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
                [sys.executable, "-m", "isr_cli", *args], env=env, stdout=subprocess.DEVNULL
            )
            for args in (["tailer", "--server", "bench"], ["parser"], ["bot"])
        ]
        try:
            await fake.wait_until(lambda: fake.identifies >= 1, timeout_s=30, what="the bot")
            sent: dict[int, float] = {}
            await _write_lines(log, sent, LINES)
            await fake.wait_until(
                lambda: len(_latencies(fake, sent)) >= LINES - WARMUP,
                timeout_s=30,
                what="every line at the fake",
            )
            return _latencies(fake, sent)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)


async def baseline(root: Path) -> list[float]:
    """Latencies (ms) of the original's tail-and-post loop."""
    log = root / "baseline.log"
    log.write_text("")
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        stop = asyncio.Event()

        async def tail() -> None:
            url = f"{fake.rest_url}/channels/{CHANNEL}/messages"
            headers = {"Authorization": f"Bot {payloads.TOKEN}"}
            with log.open(encoding="utf-8") as f:
                while not stop.is_set():
                    line = f.readline()
                    if not line:
                        await asyncio.sleep(0.1)
                        continue
                    body = {"content": f"💬 {line.split('] ', 1)[1].strip()}"}
                    body["allowed_mentions"] = {"parse": []}
                    async with http.post(url, json=body, headers=headers) as response:
                        await response.read()

        task = asyncio.create_task(tail())
        sent: dict[int, float] = {}
        await _write_lines(log, sent, LINES)
        await fake.wait_until(
            lambda: len(_latencies(fake, sent)) >= LINES - WARMUP, timeout_s=30, what="baseline"
        )
        stop.set()
        await task
        return _latencies(fake, sent)


def run(_lines: list[str]) -> dict[str, float]:
    """Both, against one embedded nats-server; prints the figures and returns ours."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedNats(Path(tmp) / "nats") as server:
        root = Path(tmp)
        mine = asyncio.run(ours(server.url, root))
        theirs = asyncio.run(baseline(root))
    print(
        f"line → Discord request at {RATE_PER_S} lines/s: p50 {_pct(mine, 0.5):.1f} ms, "
        f"p99 {_pct(mine, 0.99):.1f} ms ({len(mine):,} lines) vs baseline p50 "
        f"{_pct(theirs, 0.5):.1f} ms, p99 {_pct(theirs, 0.99):.1f} ms; "
        "target p50 <= 20 ms, p99 <= 100 ms"
    )
    return {"bot_latency_p50_ms": _pct(mine, 0.5), "bot_latency_p99_ms": _pct(mine, 0.99)}
