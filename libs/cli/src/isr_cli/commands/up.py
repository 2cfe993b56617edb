"""``isr up``: every service in one terminal, with embedded NATS and Postgres when needed.

Order of events: load the config (fail fast on errors), start (or pick up) NATS and the
database, plan the child processes from config + environment (``plan_services``, pure), run
them under the supervisor until Ctrl-C/SIGTERM, then stop Postgres and NATS. Only what a
subcommand needs at parse time is imported at module level: ``isr`` builds every subcommand's
parser on each run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from isr_cli.supervisor import ProcessSpec

DEFAULT_CONFIG_DIR = "config"
"""Used when neither --config nor ISR_CONFIG_DIR is given."""

DEFAULT_STATE_DIR = ".isr"
"""Used when neither --state-dir nor ISR_STATE_DIR is given."""

BOT_TOKEN_VARS = ("ISR_DISCORD_TOKEN", "ISR_DISCORD_TOKEN_FILE")
"""Either one switches the bot on."""

_SAY_WIDTH = 12

NATS_IDENTITY_VARS = (
    "ISR_NATS_CREDS_FILE",
    "ISR_NATS_NKEY_SEED_FILE",
    "ISR_NATS_USER",
    "ISR_NATS_PASSWORD_FILE",
    "ISR_NATS_PASSWORD",
    "ISR_NATS_TLS_CA_FILE",
    "ISR_NATS_TLS_CERT_FILE",
    "ISR_NATS_TLS_KEY_FILE",
)
"""The user's NATS identity and TLS: for their ISR_NATS_URL only, never the embedded server."""


@dataclass(frozen=True)
class ServerSpec:
    """What ``isr up`` needs to know about one configured Factorio server."""

    tag: str
    is_simulated: bool
    has_rcon: bool


@dataclass(frozen=True)
class ServicePlan:
    """The children to run, in start order, and the lines to print before starting them."""

    processes: list[ProcessSpec]
    notices: list[str]


SCRAPE_TARGETS_FILE = "prometheus-targets.json"
"""Written to the state directory: every service's health port, in Prometheus file_sd format."""

_NOT_SCRAPED = ("sim:", "watch")
"""Children without a health server of their own."""


def scrape_targets(
    processes: Sequence[ProcessSpec], host: str = "127.0.0.1"
) -> list[dict[str, Any]]:
    """The plan's services as Prometheus ``file_sd_configs`` targets (no I/O).

    One target group per service, labelled ``service`` (``tailer-alpha``, ``parser``, ...), at
    its health port; with ``ISR_HEALTH_METRICS=true`` each serves ``/metrics`` there.
    """
    groups = []
    for process in processes:
        if process.name.startswith(_NOT_SCRAPED) or process.env is None:
            continue
        port = process.env.get("ISR_HEALTH_PORT")
        if port:
            groups.append(
                {
                    "targets": [f"{host}:{port}"],
                    "labels": {"service": process.name.replace(":", "-")},
                }
            )
    return groups


def server_specs(config: Any) -> list[ServerSpec]:
    """Reduce a loaded config (``.servers: dict[tag, ServerConfig]``) to what the plan needs."""
    return [
        ServerSpec(tag, bool(server.simulator.enabled), server.rcon is not None)
        for tag, server in config.servers.items()
    ]


def plan_services(
    servers: Sequence[ServerSpec],
    *,
    environ: Mapping[str, str],
    nats_url: str,
    database_url: str | None,
    config_dir: Path,
    health_ports: Iterator[int],
    python: str = sys.executable,
    is_terminal: bool = False,
    nats_seed_files: Mapping[str, Path] | None = None,
) -> ServicePlan:
    """Decide which children to run, with which arguments and environment (no I/O).

    Simulators start first, then a tailer per server, the parser, persistence (only with a
    database), the RCON poller (only when a server has RCON), the bot (only with a Discord
    token) and ``watch`` last, so the terminal shows events flowing. Every child inherits
    ``environ`` plus ISR_NATS_URL, ISR_CONFIG_DIR, its own ISR_HEALTH_PORT and (only when a
    database exists) ISR_DATABASE_URL; when ``isr up`` itself runs on a terminal, also the log
    settings of :func:`child_log_env`. With ``nats_seed_files`` (the embedded, secured
    nats-server) each child that connects to NATS gets its own identity's seed as
    ISR_NATS_NKEY_SEED_FILE, and the user's ISR_NATS_* identity and TLS settings are dropped;
    without, they pass through unchanged.
    """
    from isr_cli.supervisor import ProcessSpec  # noqa: PLC0415 - keeps `isr --help` light

    base = dict(environ)
    base.pop("ISR_DATABASE_URL", None)
    base |= {
        "ISR_NATS_URL": nats_url,
        "ISR_CONFIG_DIR": str(config_dir),
        "PYTHONUNBUFFERED": "1",  # lines reach the supervisor as they are written
    }
    if database_url is not None:
        base["ISR_DATABASE_URL"] = database_url
    if is_terminal:
        base |= child_log_env(environ)
    if nats_seed_files is not None:
        for var in NATS_IDENTITY_VARS:
            base.pop(var, None)

    def spec(name: str, *args: str) -> ProcessSpec:
        env = base | {"ISR_HEALTH_PORT": str(next(health_ports))}
        identity = name.replace(":", "-")  # tailer:alpha runs as tailer-alpha
        if nats_seed_files is not None and identity in nats_seed_files:
            env["ISR_NATS_NKEY_SEED_FILE"] = str(nats_seed_files[identity])
        return ProcessSpec(name, (python, "-m", "isr_cli", *args), env)

    processes = [spec(f"sim:{s.tag}", "sim", "--server", s.tag) for s in servers if s.is_simulated]
    processes += [spec(f"tailer:{s.tag}", "tailer", "--server", s.tag) for s in servers]
    processes.append(spec("parser", "parser"))
    notices: list[str] = []
    if database_url is not None:
        processes.append(spec("persistence", "persistence"))
    if any(s.has_rcon for s in servers):
        processes.append(spec("rcon-poller", "rcon-poller"))
    if any(environ.get(var) for var in BOT_TOKEN_VARS):
        processes.append(spec("bot", "bot"))
    else:
        notices.append("bot is off: set ISR_DISCORD_TOKEN (or ISR_DISCORD_TOKEN_FILE) to enable it")
    processes.append(spec("watch", "watch"))
    return ServicePlan(processes, notices)


def child_log_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The log settings of children whose output goes to ``isr up``'s terminal.

    A child writes into a pipe, so left alone it would log JSON and without colours; on a
    terminal people read those lines, so children log in the console format, coloured unless
    ``NO_COLOR`` is set. What the user set explicitly (``ISR_LOG_FORMAT``, ``ISR_LOG_COLOR``)
    wins.
    """
    env: dict[str, str] = {}
    if "ISR_LOG_FORMAT" not in environ:
        env["ISR_LOG_FORMAT"] = "console"
    if "ISR_LOG_COLOR" not in environ:
        env["ISR_LOG_COLOR"] = "never" if environ.get("NO_COLOR") else "always"
    return env


def free_ports() -> Iterator[int]:
    """Yield distinct ports that are free on 127.0.0.1 when drawn."""
    from isr_cli.infra._process import free_port  # noqa: PLC0415

    seen: set[int] = set()
    while True:
        port = free_port()
        if port not in seen:
            seen.add(port)
            yield port


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:  # noqa: ARG001
    """Register ``--config`` and ``--state-dir``."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="DIR",
        help="configuration directory (default: $ISR_CONFIG_DIR or ./config)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where NATS and Postgres keep their data (default: $ISR_STATE_DIR or ./.isr)",
    )


def main(args: argparse.Namespace) -> int:
    """Run everything until Ctrl-C/SIGTERM; 0 after a clean stop, 1 when startup fails."""
    environ = dict(os.environ)
    config_dir = Path(args.config or environ.get("ISR_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    state_dir = Path(args.state_dir or environ.get("ISR_STATE_DIR") or DEFAULT_STATE_DIR).resolve()
    out = sys.stdout

    from common.config import ConfigError, load_config  # noqa: PLC0415

    try:
        config = load_config(config_dir, environ=environ)
    except ConfigError as exc:  # it names every file, line and field at once
        _say(out, f"invalid configuration in {config_dir}: {exc}")
        return 1
    from common.topology import Topology  # noqa: PLC0415

    prefix = environ.get("ISR_PREFIX") or "isr"
    try:
        Topology(prefix)  # the embedded server's permissions are written for this prefix
    except ValueError as exc:
        _say(out, f"ISR_PREFIX: {exc}")
        return 1
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(environ, config_dir, state_dir, server_specs(config), out, prefix=prefix)
    finally:
        signal.signal(signal.SIGTERM, previous_term)


def _run(
    environ: Mapping[str, str],
    config_dir: Path,
    state_dir: Path,
    servers: list[ServerSpec],
    out: TextIO,
    *,
    prefix: str,
) -> int:
    from isr_cli.infra import InfraError, resolve_database, resolve_nats  # noqa: PLC0415
    from isr_cli.supervisor import Supervisor  # noqa: PLC0415

    state_dir.mkdir(parents=True, exist_ok=True)
    saved: dict[int, Any] = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Teardown runs in reverse order of start: the children (inside Supervisor.run), then
    # Postgres, then NATS.
    with contextlib.ExitStack() as stack:
        stack.callback(_restore_signals, saved)  # registered first, so it runs last
        try:
            nats = resolve_nats(
                environ,
                state_dir,
                prefix=prefix,
                servers=[s.tag for s in servers],
            )
            if nats.server is not None:
                stack.callback(_stopper(out, "nats-server", nats.server.stop))
            _say(out, f"nats: {nats.reason}")
            database = resolve_database(environ, state_dir)
            if database.server is not None:
                stack.callback(_stopper(out, "postgres", database.server.stop))
            _say(out, f"database: {database.reason}")
            plan = plan_services(
                servers,
                environ=environ,
                nats_url=nats.url,
                database_url=database.url,
                config_dir=config_dir,
                health_ports=free_ports(),
                is_terminal=out.isatty(),
                nats_seed_files=nats.seed_files,
            )
            for notice in plan.notices:
                _say(out, notice)
            targets = state_dir / SCRAPE_TARGETS_FILE
            targets.write_text(json.dumps(scrape_targets(plan.processes), indent=2) + "\n")
            _say(out, f"prometheus scrape targets: {targets}")
            return Supervisor(plan.processes, out=out, min_width=_SAY_WIDTH).run()
        except InfraError as exc:
            _say(out, str(exc))
            return 1
        except KeyboardInterrupt:
            _say(out, "interrupted during startup")
            return 0
        finally:
            # A second Ctrl-C must not abandon Postgres half-stopped: ignore signals until the
            # stack has stopped everything.
            for sig in saved:
                signal.signal(sig, signal.SIG_IGN)


def _stopper(out: TextIO, name: str, stop: Callable[[], None]) -> Callable[[], None]:
    def _stop() -> None:
        _say(out, f"stopping {name}")
        stop()

    return _stop


def _restore_signals(saved: Mapping[int, Any]) -> None:
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _interrupt(signum: int, frame: object) -> NoReturn:  # noqa: ARG001
    raise KeyboardInterrupt


def _say(out: TextIO, text: str) -> None:
    from isr_cli.supervisor import SUPERVISOR_NAME, format_line  # noqa: PLC0415

    out.write(format_line(SUPERVISOR_NAME, _SAY_WIDTH, text))
    out.flush()
