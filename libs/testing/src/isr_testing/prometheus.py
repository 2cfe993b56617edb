"""A real Prometheus for tests: Debian's binaries fetched into ``.tools/``, run on loopback.

Debian's ``prometheus`` package (2.42: scrapes ``/metrics``, evaluates rules, no OTLP
receiver) is downloaded once with ``apt-get download prometheus`` and unpacked with
``dpkg-deb -x`` into ``.tools/prometheus/`` (kept between runs), the way tests/test_deploy.py
fetches helm. Binaries already on ``PATH`` (``apt-get install prometheus``) are used as they are.
When neither works the fixture fails, naming what to install; it never skips.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from isr_testing.waiting import wait_for

INSTALL_HINT = (
    "Debian's Prometheus is needed: `apt-get download prometheus` failed here. Install it "
    "(`apt-get install prometheus`, which puts prometheus and promtool on PATH), or unpack the "
    "package with `apt-get download prometheus && dpkg-deb -x prometheus_*.deb .tools/prometheus`"
)


@dataclass(frozen=True, slots=True)
class PrometheusTools:
    """The two binaries of the package."""

    prometheus: Path
    promtool: Path


def fetch_prometheus(tools_dir: Path) -> PrometheusTools:
    """The Prometheus binaries: from ``tools_dir`` (fetched there on first use) or ``PATH``.

    Raises:
        RuntimeError: neither was available and the download failed (the message says what to
            install).
    """
    unpacked = PrometheusTools(
        tools_dir / "usr" / "bin" / "prometheus", tools_dir / "usr" / "bin" / "promtool"
    )
    if unpacked.prometheus.exists() and unpacked.promtool.exists():
        return unpacked
    on_path = shutil.which("prometheus"), shutil.which("promtool")
    if on_path[0] and on_path[1]:
        return PrometheusTools(Path(on_path[0]), Path(on_path[1]))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                ["apt-get", "download", "prometheus"],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=300,
            )
            (deb,) = Path(tmp).glob("prometheus_*.deb")
            tools_dir.parent.mkdir(parents=True, exist_ok=True)
            partial = tools_dir.with_name(f"{tools_dir.name}.partial")
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(
                ["dpkg-deb", "-x", str(deb), str(partial)],
                check=True,
                capture_output=True,
                timeout=300,
            )
            shutil.rmtree(tools_dir, ignore_errors=True)
            partial.replace(tools_dir)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        msg = f"{INSTALL_HINT} ({detail!r})"
        raise RuntimeError(msg) from exc
    return unpacked


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """One Prometheus process on loopback, with the HTTP API calls the tests need."""

    def __init__(self, tools: PrometheusTools, config: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tools = tools
        self._config = config
        self._data_dir = data_dir
        self._log = data_dir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> Self:
        """Start it and wait until ``/-/ready`` answers."""
        self._data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
                [
                    str(self._tools.prometheus),
                    f"--config.file={self._config}",
                    f"--storage.tsdb.path={self._data_dir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        await wait_for(self._is_ready, timeout_s=30, what=f"Prometheus ready ({self._log})")
        return self

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def output(self) -> str:
        """What Prometheus logged."""
        return self._log.read_text(errors="replace")

    async def _is_ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            msg = f"Prometheus exited with {self._proc.returncode}:\n{self.output()}"
            raise AssertionError(msg)
        try:
            await asyncio.to_thread(self._get, "/-/ready")
        except OSError:
            return False
        return True

    def _get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if path.startswith("/api/") else body

    async def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>``; the ``data`` of a successful answer."""
        answer = await asyncio.to_thread(self._get, f"/api/v1/{path}", **params)
        assert answer["status"] == "success", answer
        return answer["data"]

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        data = await self.api("query", query=promql)
        result: list[dict[str, Any]] = data["result"]
        return result

    async def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing), each with ``labels`` and ``state``."""
        data = await self.api("alerts")
        result: list[dict[str, Any]] = data["alerts"]
        return result

    async def alert_state(self, name: str, **labels: str) -> str | None:
        """``pending``, ``firing``, or None (inactive) for the alert with these labels."""
        for alert in await self.alerts():
            got = alert["labels"]
            if got.get("alertname") == name and all(got.get(k) == v for k, v in labels.items()):
                return str(alert["state"])
        return None
