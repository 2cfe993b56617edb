"""Tailer + parser end to end: throughput, latency, idle CPU and memory.

Each figure is printed beside a baseline measured in the same run that works the way the
original bot did (original-isr.md §4.1): read one line per loop iteration, sleep 0.1 s whenever
``readline()`` returns nothing, try every pattern in priority order with stdlib ``re``, and
publish each event on its own (awaiting the acknowledgement) into the same JetStream stream.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from benchmarks.parse import _baseline_patterns
from common.topology import Topology
from isr_cli.infra import EmbeddedNats
from isr_testing.pipeline import service_env, write_config

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _config(root: Path, log: Path) -> Path:
    return write_config(root / "config", {"bench": log})


def _env(url: str, prefix: str, config: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **service_env(url, prefix, config, ISR_LOG_LEVEL="warning", **extra)}


@contextmanager
def _services(
    names: list[list[str]], env: dict[str, str]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "isr_cli", *args], env=env, stdout=subprocess.DEVNULL
        )
        for args in names
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


_EVENT_MARK = b'"kind":"event",'
"""Occurs once per event in a message, whether a single event or an event batch (whose own
``"kind":"event_batch"`` does not match)."""


class _EventCounter:
    """Counts events published under a subject (event batches opened) from a core subscription.

    Counting bytes, not decoding: the benchmark process must not compete with the pipeline.
    """

    def __init__(self, nc: NatsClient, subject: str) -> None:
        self._nc, self._subject = nc, subject
        self.count = 0
        self._wanted = 0
        self._reached = asyncio.Event()
        self._sub: object | None = None

    async def start(self) -> None:
        async def on_msg(msg: Msg) -> None:
            self.count += msg.data.count(_EVENT_MARK)
            if self._wanted and self.count >= self._wanted:
                self._reached.set()

        self._sub = await self._nc.subscribe(
            self._subject,
            cb=on_msg,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )

    async def wait_for(self, expected: int, timeout_s: float) -> float:
        """Monotonic time at which ``expected`` events had arrived."""
        self._wanted = expected
        if self.count >= expected:
            return time.monotonic()
        try:
            await asyncio.wait_for(self._reached.wait(), timeout_s)
        except TimeoutError:
            msg = f"only {self.count} of {expected} events after {timeout_s} s"
            raise RuntimeError(msg) from None
        return time.monotonic()


# -- the original's way, as a baseline ---------------------------------------------------


async def _baseline_tail(
    log: Path, js: JetStreamContext, subject: str, stop: asyncio.Event, *, until_lines: int = 0
) -> int:
    """One line per loop, 0.1 s poll, stdlib patterns in order, one awaited publish per event."""
    patterns = _baseline_patterns()
    seen = 0
    with log.open(encoding="utf-8", errors="replace") as f:
        while not stop.is_set():
            line = f.readline()
            if not line:
                if until_lines and seen >= until_lines:
                    break
                await asyncio.sleep(0.1)
                continue
            seen += 1
            text = line.rstrip("\r\n")
            for event_type, regex in patterns:
                m = regex.search(text)
                if m is not None:
                    await js.publish(f"{subject}.{event_type}", text.encode())
                    break
    return seen


# -- throughput --------------------------------------------------------------------------


async def _pipeline_rate(
    url: str,
    root: Path,
    log: Path,
    expected: int,
    parsers: int,
    *,
    prefix: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[float, dict[str, float]]:
    """Seconds for all lines through a tailer and ``parsers`` workers, and their RSS (MB)."""
    prefix = prefix or f"bthr{parsers}"
    topo = Topology(prefix)
    nc = await nats.connect(url)
    folder = root / prefix
    folder.mkdir()
    env = _env(url, prefix, _config(folder, log), **(extra_env or {}))
    start = time.monotonic()
    services = [["tailer", "--server", "bench"]] + [["parser"]] * parsers
    counter = _EventCounter(nc, topo.events_filter("bench"))
    await counter.start()
    with _services(services, env) as procs:
        done = await counter.wait_for(expected, timeout_s=300)
        rss = {"tailer": _rss_mb(procs[0].pid), "parser": _rss_mb(procs[1].pid)}
    await nc.close()
    return (done - start), rss


async def throughput(url: str, root: Path, lines: list[str]) -> dict[str, float]:
    """Lines/s from a pre-written log to events acknowledged in the stream."""
    log = root / "throughput.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = _expected_events(lines)
    one_s, rss = await _pipeline_rate(url, root, log, expected, parsers=1)
    two_s, _ = await _pipeline_rate(url, root, log, expected, parsers=2)
    ours, ours_two = len(lines) / one_s, len(lines) / two_s
    nc = await nats.connect(url)
    js = nc.jetstream()

    base_lines = lines[:100_000]
    base_log = root / "baseline.log"
    base_log.write_text("\n".join(base_lines) + "\n", encoding="utf-8")
    btopo = Topology("bbase")
    await btopo.ensure(js)
    stop = asyncio.Event()
    t0 = time.monotonic()
    await _baseline_tail(
        base_log, js, btopo.events_filter("bench")[:-2], stop, until_lines=len(base_lines)
    )
    theirs = len(base_lines) / (time.monotonic() - t0)
    await nc.close()
    print(
        f"end to end: {ours:,.0f} lines/s with 1 parser, {ours_two:,.0f} lines/s with 2 "
        f"({len(lines):,} lines, {expected:,} events) vs baseline {theirs:,.0f} lines/s -> "
        f"{ours / theirs:.1f}x / {ours_two / theirs:.1f}x; target >= 100,000 lines/s sustained"
    )
    print(
        f"memory after the run: tailer {rss['tailer']:.0f} MB, parser {rss['parser']:.0f} MB "
        "RSS; target < 100 MB each"
    )
    return {
        "e2e_lines_per_s": ours,
        "e2e_two_parsers_lines_per_s": ours_two,
        "e2e_baseline_lines_per_s": theirs,
        **rss,
    }


def _expected_events(lines: list[str]) -> int:
    from parser.patterns.loader import load_patterns  # noqa: PLC0415

    patterns = load_patterns(None).patterns
    assert patterns is not None
    return sum(1 for line in lines if patterns.scan(line) is not None)


# -- latency -----------------------------------------------------------------------------

_MARK = re.compile(r"lat-(\d+)")


class _Appender(threading.Thread):
    """Appends one [JOIN] line every 1/rate s and records when each was written."""

    def __init__(self, log: Path, rate: float, count: int) -> None:
        super().__init__(daemon=True)
        self.log, self.rate, self.count = log, rate, count
        self.written: dict[int, float] = {}

    def run(self) -> None:
        with self.log.open("a", encoding="utf-8") as f:
            start = time.monotonic()
            for i in range(self.count):
                target = start + i / self.rate
                delay = target - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing the load, not synchronisation
                f.write(f"2026-11-27 12:00:00 [JOIN] lat-{i} joined the game\n")
                f.flush()
                self.written[i] = time.monotonic()


async def _measure_latency(
    js: JetStreamContext, subject: str, log: Path, count: int
) -> list[float]:
    received: dict[int, float] = {}
    done = asyncio.Event()

    async def on_msg(msg: object) -> None:
        now = time.monotonic()  # an event batch carries several marks
        for mark in _MARK.findall(msg.data.decode(errors="replace")):  # type: ignore[attr-defined]
            received[int(mark)] = now
        if len(received) >= count:
            done.set()

    sub = await js.subscribe(subject, cb=on_msg)
    appender = _Appender(log, 1000.0, count)
    appender.start()
    try:
        await asyncio.wait_for(done.wait(), count / 1000 + 60)
    finally:
        await sub.unsubscribe()
    appender.join()
    return sorted((received[i] - appender.written[i]) * 1000 for i in received)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def latency(url: str, root: Path, count: int = 10_000) -> dict[str, float]:
    """Append-to-event-published latency at 1,000 lines/s."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    folder = root / "lat"
    folder.mkdir()
    log = folder / "console.log"
    log.write_text("")
    prefix = "blat"
    env = _env(url, prefix, _config(folder, log))
    with _services([["tailer", "--server", "bench"], ["parser"]], env):
        topo = Topology(prefix)
        await _wait_stream(js, topo.events_stream)
        await asyncio.sleep(1.0)  # let both services finish starting before the clock runs
        ours = await _measure_latency(js, topo.events_filter("bench"), log, count)

    base_folder = root / "lat-base"
    base_folder.mkdir()
    base_log = base_folder / "console.log"
    base_log.write_text("")
    btopo = Topology("blatbase")
    await btopo.ensure(js)
    stop = asyncio.Event()
    tail = asyncio.create_task(
        _baseline_tail(base_log, js, btopo.events_filter("bench")[:-2], stop)
    )
    theirs = await _measure_latency(js, btopo.events_filter("bench"), base_log, count // 5)
    stop.set()
    await tail
    await nc.close()
    print(
        f"latency at 1,000 lines/s: p50 {_pct(ours, 0.5):.1f} ms, p99 {_pct(ours, 0.99):.1f} ms "
        f"({len(ours):,} lines) vs baseline p50 {_pct(theirs, 0.5):.1f} ms, "
        f"p99 {_pct(theirs, 0.99):.1f} ms; target p99 <= 50 ms"
    )
    return {"latency_p50_ms": _pct(ours, 0.5), "latency_p99_ms": _pct(ours, 0.99)}


async def _wait_stream(js: JetStreamContext, stream: str) -> None:
    for _ in range(300):
        try:
            await js.stream_info(stream)
        except Exception:
            await asyncio.sleep(0.1)
        else:
            return


# -- idle CPU ----------------------------------------------------------------------------

_BASELINE_IDLE = """
import sys, time
from pathlib import Path
path = Path(sys.argv[1])
with path.open() as f:
    f.seek(0, 2)
    while True:
        if not path.exists():
            time.sleep(0.1); continue
        line = f.readline()
        if not line:
            time.sleep(0.1)
"""


def idle_cpu(url: str, root: Path, seconds: float = 20.0) -> dict[str, float]:
    """CPU share of a tailer following a log nobody writes to."""
    folder = root / "idle"
    folder.mkdir()
    log = folder / "console.log"
    log.write_text("x\n")
    env = _env(url, "bidle", _config(folder, log))
    with _services([["tailer", "--server", "bench"]], env) as procs:
        time.sleep(5)  # let start-up finish before measuring the idle state
        pid = procs[0].pid
        c0, t0 = _cpu_s(pid), time.monotonic()
        time.sleep(seconds)
        ours = (_cpu_s(pid) - c0) / (time.monotonic() - t0) * 100
        rss = _rss_mb(pid)
    base = subprocess.Popen([sys.executable, "-c", _BASELINE_IDLE, str(log)])
    try:
        time.sleep(1)
        c0, t0 = _cpu_s(base.pid), time.monotonic()
        time.sleep(seconds)
        theirs = (_cpu_s(base.pid) - c0) / (time.monotonic() - t0) * 100
    finally:
        base.kill()
        base.wait()
    print(
        f"idle tailer: {ours:.2f} % of a core, {rss:.0f} MB RSS vs baseline 0.1 s poll loop "
        f"{theirs:.2f} % of a core; target < 1 %"
    )
    return {"idle_cpu_percent": ours, "idle_baseline_cpu_percent": theirs}


def run(lines: list[str]) -> dict[str, float]:
    """All ingestion benchmarks against one embedded nats-server."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedNats(Path(tmp) / "nats") as server:
        root = Path(tmp)
        results |= asyncio.run(throughput(server.url, root, lines))
        results |= asyncio.run(latency(server.url, root))
        results |= idle_cpu(server.url, root)
    return results
