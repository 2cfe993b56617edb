"""``isr sim``: run simulated Factorio servers (console log + RCON) until SIGINT/SIGTERM.

Servers come from the config (``--server TAG``, repeatable, or ``--all`` for every server with
``simulator.enabled``) or from standalone flags (``--log PATH`` and optionally ``--rcon-port``
with ``--rcon-password-env``). Each server plays a seeded random scenario at ``--rate`` lines/s;
on a signal each writes Factorio's shutdown lines and the command exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from simulator import ServerSettings


class _UsageError(Exception):
    """The flags do not describe a server to simulate."""


@dataclass(frozen=True)
class _Options:
    rate_lines_per_s: float
    seed: int | None
    players: int


def add_arguments(parser: argparse.ArgumentParser, _name: str) -> None:
    """Register the flags."""
    source = parser.add_argument_group("servers from the config (ISR_CONFIG_DIR)")
    source.add_argument(
        "--server", action="append", default=[], metavar="TAG", help="simulate this server"
    )
    source.add_argument(
        "--all", action="store_true", help="simulate every server with simulator.enabled"
    )
    alone = parser.add_argument_group("a standalone server (no config)")
    alone.add_argument("--log", type=Path, metavar="PATH", help="console log to append to")
    alone.add_argument("--rcon-port", type=int, metavar="N", help="serve RCON on this port")
    alone.add_argument("--rcon-host", default="127.0.0.1", help="RCON bind address")
    alone.add_argument(
        "--rcon-password-env", metavar="VAR", help="environment variable holding the password"
    )
    play = parser.add_argument_group("what happens on the servers")
    play.add_argument(
        "--rate", type=float, default=2.0, metavar="LINES_PER_S", help="0 = no scenario"
    )
    play.add_argument("--seed", type=int, default=None, help="random seed (server i uses seed+i)")
    play.add_argument("--players", type=int, default=10, metavar="N", help="player pool size")
    play.add_argument("--ups", type=float, default=60.0, help="achieved updates per second")
    play.add_argument(
        "--no-auto-pause", action="store_true", help="keep ticking while nobody is online"
    )
    play.add_argument(
        "--save-duration-s", type=float, default=0.0, help="how long a save blocks RCON"
    )
    play.add_argument(
        "--no-achievements",
        action="store_true",
        help="a save where Lua already ran: no achievements warning on the first /c",
    )


def _common_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "ups": args.ups,
        "auto_pause": not args.no_auto_pause,
        "save_duration_s": args.save_duration_s,
        "is_achievements_enabled": not args.no_achievements,
    }


def _from_config(args: argparse.Namespace, environ: Mapping[str, str]) -> list[ServerSettings]:
    from common.config import load_config  # noqa: PLC0415
    from simulator import ServerSettings  # noqa: PLC0415

    config = load_config(Path(environ.get("ISR_CONFIG_DIR", "config")), environ=environ)
    tags = list(args.server)
    if args.all:
        tags += [t for t, s in config.servers.items() if s.simulator.enabled and t not in tags]
    unknown = [t for t in tags if t not in config.servers]
    if unknown:
        known = ", ".join(config.servers)
        raise _UsageError(f"unknown server tag(s) {', '.join(unknown)}; the config has {known}")
    if not tags:
        raise _UsageError("--all found no server with simulator.enabled in the config")
    result = []
    for tag in tags:
        server = config.servers[tag]
        rcon = server.rcon
        result.append(
            ServerSettings(
                name=tag,
                log_path=server.log_path,
                rcon_port=None if rcon is None else rcon.port,
                rcon_host="127.0.0.1" if rcon is None else rcon.host,
                rcon_password="" if rcon is None else rcon.password.get_secret_value(),
                **_common_settings(args),
            )
        )
    return result


def _standalone(args: argparse.Namespace, environ: Mapping[str, str]) -> ServerSettings:
    from simulator import ServerSettings  # noqa: PLC0415

    if args.log is None:
        raise _UsageError("give --server TAG, --all, or --log PATH")
    password = ""
    if args.rcon_port is not None:
        if not args.rcon_password_env:
            raise _UsageError("--rcon-port needs --rcon-password-env VAR (Factorio needs one)")
        if args.rcon_password_env not in environ:
            raise _UsageError(f"environment variable {args.rcon_password_env} is not set")
        password = environ[args.rcon_password_env]
    return ServerSettings(
        name=args.log.stem,
        log_path=args.log,
        rcon_port=args.rcon_port,
        rcon_host=args.rcon_host,
        rcon_password=password,
        **_common_settings(args),
    )


def server_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> list[ServerSettings]:
    """The servers the flags describe; raises _UsageError when they describe none."""
    if args.server or args.all:
        if args.log is not None or args.rcon_port is not None:
            raise _UsageError("--log/--rcon-port are for a standalone server, not with --server")
        return _from_config(args, environ)
    return [_standalone(args, environ)]


async def _run(settings: list[ServerSettings], options: _Options) -> int:
    import asyncio  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from simulator import Scenario, SimulatedServer  # noqa: PLC0415

    stop = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum.name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    servers = [SimulatedServer(s) for s in settings]
    started: list[SimulatedServer] = []
    try:
        for server in servers:
            await server.start()
            started.append(server)
            rcon = (
                "off"
                if server.rcon_port is None
                else f"{server.settings.rcon_host}:{server.rcon_port}"
            )
            sys.stderr.write(
                f"isr sim: {server.settings.name}: log {server.settings.log_path}, rcon {rcon}\n"
            )
        sys.stderr.flush()
        scenarios = []
        if options.rate_lines_per_s > 0:
            for index, server in enumerate(servers):
                seed = None if options.seed is None else options.seed + index
                scenario = Scenario.random(seed=seed, players=options.players)
                scenarios.append(
                    asyncio.ensure_future(
                        server.run_scenario(
                            scenario, rate_lines_per_s=options.rate_lines_per_s, stop=stop
                        )
                    )
                )
        await stop.wait()
        await asyncio.gather(*scenarios)
    finally:
        signal_name = received[0] if received else "SIGINT"
        for server in reversed(started):
            await server.stop(signal_name=signal_name)
    return 0


def main(args: argparse.Namespace) -> int:
    """Run the simulated servers until SIGINT or SIGTERM; 0 on a clean stop, 2 on bad flags."""
    import asyncio  # noqa: PLC0415

    from common.config import ConfigError  # noqa: PLC0415

    if args.rate < 0 or args.players < 1:
        sys.stderr.write("isr sim: --rate must be >= 0 and --players >= 1\n")
        return 2
    try:
        settings = server_settings(args, os.environ)
    except (_UsageError, ConfigError, ValueError) as exc:
        sys.stderr.write(f"isr sim: {exc}\n")
        return 2
    options = _Options(rate_lines_per_s=args.rate, seed=args.seed, players=args.players)
    return asyncio.run(_run(settings, options))
