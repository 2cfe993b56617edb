"""`isr sim` (libs/cli/src/isr_cli/commands/sim.py) run as a real process and as functions."""

import argparse
import asyncio
import os
import re
import signal
import sys
import textwrap

import factorio_rcon
import pytest

from isr_cli.commands import sim

_RUN_SIM = (
    "import argparse, sys\n"
    "from isr_cli.commands import sim\n"
    "parser = argparse.ArgumentParser()\n"
    "sim.add_arguments(parser, 'sim')\n"
    "sys.exit(sim.main(parser.parse_args(sys.argv[1:])))\n"
)


def _parse(*argv):
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser, "sim")
    return parser.parse_args(argv)


async def _start(*argv, env):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RUN_SIM, *argv, env=env, stderr=asyncio.subprocess.PIPE
    )
    line = await asyncio.wait_for(process.stderr.readline(), 30)
    return process, line.decode()


def _send(port, password, command):
    client = factorio_rcon.RCONClient("127.0.0.1", port, password)
    try:
        return client.send_command(command)
    finally:
        client.close()


class TestSimProcess:
    """The command as a process: serves until a signal, then writes the shutdown lines."""

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    async def test_serves_rcon_and_stops_cleanly_on_a_signal(self, tmp_path, signum):
        """A standalone server answers RCON, and on SIGINT/SIGTERM logs Goodbye and exits 0."""
        log = tmp_path / "nested" / "console.log"
        env = dict(os.environ, SIM_PW="pw")
        process, banner = await _start(
            "--log", str(log), "--rcon-port", "0", "--rcon-password-env", "SIM_PW",
            "--rate", "50", "--seed", "1", env=env,
        )  # fmt: skip
        port = int(re.search(r"rcon 127\.0\.0\.1:(\d+)", banner).group(1))

        version = await asyncio.to_thread(_send, port, "pw", "/version")
        process.send_signal(signum)
        code = await asyncio.wait_for(process.wait(), 30)

        lines = log.read_text(encoding="utf-8").splitlines()
        assert (version, code) == ("2.0.77", 0)
        assert lines[0].endswith("Factorio 2.0.77 (build 84539, linux64, headless, space-age)")
        assert lines[-5].endswith(f"Received {signum.name}, shutting down")
        assert lines[-1].endswith(" Goodbye")


class TestServerSettings:
    """Which servers the flags describe."""

    def test_standalone_without_rcon(self, tmp_path):
        """`--log` alone makes one log-only server."""
        [settings] = sim.server_settings(_parse("--log", str(tmp_path / "c.log")), {})

        assert (settings.log_path, settings.rcon_port) == (tmp_path / "c.log", None)

    def test_rcon_port_needs_a_password(self, tmp_path):
        """`--rcon-port` without `--rcon-password-env` is a usage error (exit 2)."""
        args = _parse("--log", str(tmp_path / "c.log"), "--rcon-port", "27015")

        assert sim.main(args) == 2

    def test_nothing_to_simulate(self):
        """No server, no --all and no --log is a usage error (exit 2)."""
        assert sim.main(_parse()) == 2

    def test_servers_from_the_config(self, tmp_path):
        """`--server` picks config entries; `--all` adds every simulator-enabled one."""
        (tmp_path / "servers.yml").write_text(
            textwrap.dedent(
                """\
                version: 1
                servers:
                  alpha:
                    name: Alpha
                    log_path: alpha/console.log
                    rcon:
                      port: 27101
                      password_env: SIM_ALPHA_PW
                    simulator:
                      enabled: true
                  beta:
                    name: Beta
                    log_path: beta/console.log
                    rcon:
                      enabled: false
                """
            ),
            encoding="utf-8",
        )
        environ = {"ISR_CONFIG_DIR": str(tmp_path), "SIM_ALPHA_PW": "alpha-pw"}

        both = sim.server_settings(_parse("--server", "alpha", "--server", "beta"), environ)
        every = sim.server_settings(_parse("--all"), environ)

        assert [(s.name, s.rcon_port, s.rcon_password) for s in both] == [
            ("alpha", 27101, "alpha-pw"),
            ("beta", None, ""),
        ]
        assert [s.name for s in every] == ["alpha"]
        assert both[0].log_path == (tmp_path / "alpha" / "console.log").resolve()
