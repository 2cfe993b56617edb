"""One rcon-poller watching 200 simulated servers at 5 s intervals: CPU share and lateness.

Setup: an embedded nats-server, one ``isr sim --all`` process serving RCON for 200 simulated
servers (no scenario, no auto-pause), and the poller under test as a real ``isr rcon-poller``
process publishing samples to JetStream. After a warm-up, the benchmark measures for a window:

- **CPU share**: user + system time of the poller process over the window, as a share of one
  core (``/proc/<pid>/stat``);
- **sample lateness**: for each sample, ``sampled_at - scheduled_at`` (from when the sample was
  due to when its replies were all in), p50 and p99.

Baseline, measured in the same run against the same simulator: the original bot's approach
(original-isr.md §4.2): every command on a **new TCP connection with a new login**, through
conqp's ``rcon`` client in a worker thread (``asyncio.to_thread``), the same three commands per
sample (``/players online``, ``/time``, ``/evolution``) sent one after the other. It publishes
nothing, so it does less work than the poller per sample.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVERS = 200
INTERVAL_S = 5.0
PASSWORD = "bench-rcon-password"  # noqa: S105 - a throwaway simulator password
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_COMMANDS = ("/players online", "/time", "/evolution")


def _seconds() -> tuple[float, float]:
    """(warm-up, measured window), overridable with ISR_BENCH_RCON_SECONDS=warmup,window."""
    raw = os.environ.get("ISR_BENCH_RCON_SECONDS", "15,60")
    warmup, window = (float(x) for x in raw.split(","))
    return warmup, window


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _write_config(root: Path, ports: list[int]) -> Path:
    config = root / "config"
    config.mkdir()
    lines = ["servers:"]
    for index, port in enumerate(ports):
        lines += [
            f"  s{index:03d}:",
            f"    log_path: {root / 'logs' / f's{index:03d}.log'}",
            "    rcon:",
            f"      port: {port}",
            "      password_env: ISR_BENCH_RCON_PASSWORD",
            "    metrics:",
            f"      interval_s: {INTERVAL_S}",
            "    simulator:",
            "      enabled: true",
        ]
    (config / "servers.yml").write_text("\n".join(lines) + "\n")
    return config


def run(_lines: object = None) -> dict[str, float]:
    """Run both sides; print and return the figures."""
    from isr_cli.infra import EmbeddedNats  # noqa: PLC0415
    from isr_cli.infra._process import free_port, is_accepting  # noqa: PLC0415

    warmup_s, window_s = _seconds()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ports: list[int] = []
        while len(ports) < SERVERS:  # free_port may hand out the same port twice
            port = free_port()
            if port not in ports:
                ports.append(port)
        config = _write_config(root, ports)
        with EmbeddedNats(root / "nats") as nats_server:
            env = {
                **os.environ,
                "ISR_NATS_URL": nats_server.url,
                "ISR_CONFIG_DIR": str(config),
                "ISR_BENCH_RCON_PASSWORD": PASSWORD,
                "ISR_HEALTH_ENABLED": "false",
                "ISR_LOG_LEVEL": "warning",
                "ISR_PREFIX": "bench",
            }
            sim = subprocess.Popen(
                [sys.executable, "-m", "isr_cli", "sim", "--all", "--rate", "0", "--no-auto-pause"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(root / "sim.err").open("wb"),
            )
            try:
                deadline = time.monotonic() + 60
                while not all(is_accepting("127.0.0.1", p) for p in ports):
                    if time.monotonic() > deadline or sim.poll() is not None:
                        err = (root / "sim.err").read_text()[-2000:]
                        raise RuntimeError(f"the simulators did not start: {err}")
                    time.sleep(0.2)
                ours = asyncio.run(_measure_poller(env, sim.pid, warmup_s, window_s))
                baseline = _measure_baseline(ports, env, sim.pid, warmup_s, window_s)
            finally:
                sim.terminate()
                sim.wait(30)
    _report(ours, baseline, window_s)
    return {
        "cpu_share": ours["cpu_share"],
        "lateness_p99_ms": ours["p99_ms"],
        "baseline_cpu_share": baseline["cpu_share"],
        "baseline_lateness_p99_ms": baseline["p99_ms"],
    }


async def _measure_poller(
    env: dict[str, str], sim_pid: int, warmup_s: float, window_s: float
) -> dict[str, float]:
    import nats  # noqa: PLC0415
    from nats.js.api import ConsumerConfig, DeliverPolicy  # noqa: PLC0415

    from common.contracts import MetricSample  # noqa: PLC0415

    nc = await nats.connect(env["ISR_NATS_URL"])
    lateness_ms: list[float] = []
    measuring = False
    counted = 0

    async def on_metric(msg: Any) -> None:
        nonlocal counted
        sample = MetricSample.from_json(msg.data)
        if measuring and sample.scheduled_at is not None and sample.rcon_up:
            counted += 1
            lateness_ms.append((sample.sampled_at - sample.scheduled_at).total_seconds() * 1000)

    poller = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [sys.executable, "-m", "isr_cli", "rcon-poller"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sub = None
        for _ in range(100):
            try:
                sub = await nc.jetstream().subscribe(
                    "bench.metrics.>",
                    cb=on_metric,
                    ordered_consumer=True,
                    config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
                )
                break
            except Exception:
                await asyncio.sleep(0.1)
        await asyncio.sleep(warmup_s)  # a benchmark's warm-up, not synchronisation
        cpu0, sim0, t0 = _cpu_s(poller.pid), _cpu_s(sim_pid), time.monotonic()
        measuring = True
        await asyncio.sleep(window_s)
        measuring = False
        cpu1, sim1, t1 = _cpu_s(poller.pid), _cpu_s(sim_pid), time.monotonic()
        if sub is not None:
            await sub.unsubscribe()
    finally:
        poller.terminate()
        poller.wait(30)
        await nc.close()
    elapsed = t1 - t0
    return {
        "cpu_share": (cpu1 - cpu0) / elapsed,
        "sim_cpu_share": (sim1 - sim0) / elapsed,
        "samples": counted,
        "p50_ms": _percentile(lateness_ms, 0.5),
        "p99_ms": _percentile(lateness_ms, 0.99),
    }


def _measure_baseline(
    ports: list[int],
    env: dict[str, str],
    sim_pid: int,
    warmup_s: float,
    window_s: float,
) -> dict[str, float]:
    args = json.dumps({"ports": ports, "warmup_s": warmup_s, "window_s": window_s})
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.rcon_poller", args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(warmup_s)  # the child waits the same warm-up before it records
    cpu0, sim0, t0 = _cpu_s(proc.pid), _cpu_s(sim_pid), time.monotonic()
    time.sleep(window_s)
    cpu1, sim1, t1 = _cpu_s(proc.pid), _cpu_s(sim_pid), time.monotonic()
    out, _ = proc.communicate(timeout=120)
    lateness_ms = json.loads(out)["lateness_ms"]
    elapsed = t1 - t0
    return {
        "cpu_share": (cpu1 - cpu0) / elapsed,
        "sim_cpu_share": (sim1 - sim0) / elapsed,
        "samples": len(lateness_ms),
        "p50_ms": _percentile(lateness_ms, 0.5),
        "p99_ms": _percentile(lateness_ms, 0.99),
    }


def _baseline_main(raw: str) -> None:
    """The original's way: a fresh connection and login per command, in a thread."""
    from rcon.source import Client  # noqa: PLC0415

    params = json.loads(raw)
    ports: list[int] = params["ports"]
    warmup_s: float = params["warmup_s"]
    window_s: float = params["window_s"]
    lateness_ms: list[float] = []

    def one_command(port: int, command: str) -> str:
        with Client("127.0.0.1", port, passwd=PASSWORD, timeout=10) as client:
            return client.run(command)

    async def server(port: int, offset_s: float, start_s: float, stop_s: float) -> None:
        loop = asyncio.get_running_loop()
        due = start_s + offset_s
        while due < stop_s:
            await asyncio.sleep(max(0.0, due - loop.time()))
            for command in _COMMANDS:
                try:
                    await asyncio.to_thread(one_command, port, command)
                except Exception:  # noqa: S112 - a failed sample is simply late
                    continue
            finished = loop.time()
            if start_s + warmup_s <= due < start_s + warmup_s + window_s:
                lateness_ms.append((finished - due) * 1000)
            due += INTERVAL_S
            while due < finished:
                due += INTERVAL_S

    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stop = start + warmup_s + window_s
        step = INTERVAL_S / len(ports)
        await asyncio.gather(*(server(p, i * step, start, stop) for i, p in enumerate(ports)))

    asyncio.run(main())
    print(json.dumps({"lateness_ms": lateness_ms}))


def _report(ours: dict[str, float], baseline: dict[str, float], window_s: float) -> None:
    print(f"rcon poller: {SERVERS} simulated servers, {INTERVAL_S:g} s interval, ", end="")
    print(f"{window_s:g} s window")
    print(f"{'':34} {'ours':>14} {'baseline':>14}")
    print(
        f"{'CPU, share of one core':34} {ours['cpu_share']:>13.1%} {baseline['cpu_share']:>14.1%}"
    )
    print(f"{'sample lateness p50':34} {ours['p50_ms']:>11.1f} ms {baseline['p50_ms']:>11.1f} ms")
    print(f"{'sample lateness p99':34} {ours['p99_ms']:>11.1f} ms {baseline['p99_ms']:>11.1f} ms")
    print(f"{'samples in the window':34} {ours['samples']:>14.0f} {baseline['samples']:>14.0f}")
    print(
        f"{'simulator CPU (same machine)':34} {ours['sim_cpu_share']:>13.1%} "
        f"{baseline['sim_cpu_share']:>14.1%}"
    )
    print("target: poller CPU < 25 % of a core")


if __name__ == "__main__":
    _baseline_main(sys.argv[1])
