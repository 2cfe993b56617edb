"""The `isr` console command: one subcommand per service plus the operator tools.

Each subcommand lives in its own module and is imported only when chosen, so `isr parse` does
not pay for hikari and `isr bot` does not pay for asyncpg.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

DISTRIBUTION = "isr-cli"
"""The distribution that installs the ``isr`` command; its metadata holds the version."""

#: subcommand -> (module, help). Each module defines add_arguments(parser, name) and main(args).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "up": ("isr_cli.commands.up", "run every service in one terminal (embedded NATS/Postgres)"),
    "tailer": ("isr_cli.commands.services", "run the log tailer for one server"),
    "parser": ("isr_cli.commands.services", "run a parser worker"),
    "rcon-poller": ("isr_cli.commands.services", "run the RCON poller"),
    "bot": ("isr_cli.commands.services", "run the Discord bot"),
    "persistence": ("isr_cli.commands.services", "run the Postgres writer and query API"),
    "check-config": ("isr_cli.commands.check_config", "validate the configuration directory"),
    "parse": ("isr_cli.commands.parse", "run the pattern set over a file or stdin offline"),
    "watch": ("isr_cli.commands.watch", "print events live as they cross the stream"),
    "sim": ("isr_cli.commands.sim", "run the Factorio simulator (console log + RCON)"),
    "nats-auth": (
        "isr_cli.commands.nats_auth",
        "print the NATS authorisation (server config or nsc script) for the servers",
    ),
}


def version() -> str:
    """The installed version of the ``isr`` command (its distribution's metadata: one place)."""
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as distribution_version  # noqa: PLC0415

    try:
        return distribution_version(DISTRIBUTION)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="isr", description="Factorio ISR: Incident Stream Relay")
    parser.add_argument("--version", action="version", version=f"isr {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        add_arguments: Callable[[argparse.ArgumentParser, str], None] = module.add_arguments
        add_arguments(sub_parser, name)
        sub_parser.set_defaults(_module=module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `isr` script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(args._module)  # noqa: SLF001
    run: Callable[[argparse.Namespace], int] = module.main
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
