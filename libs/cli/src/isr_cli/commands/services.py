"""``isr tailer|parser|persistence|rcon-poller|bot``: run one service in the foreground.

Each service reads its settings from the environment (see README, "Configuration"); the few
flags here override them for running by hand. A bad variable stops the service before it starts
with one line naming it (exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """Register the flags of service ``name``."""
    if name == "tailer":
        parser.add_argument("--server", required=True, help="server tag from servers.yml")
        parser.add_argument("--log", type=Path, help="override the server's log_path")
    if name == "bot":
        parser.add_argument(
            "action",
            nargs="?",
            choices=["commands"],
            help="commands: print the slash-command tree the bot registers, then exit",
        )
        parser.add_argument("--json", action="store_true", help="with commands: as JSON")
    parser.set_defaults(service=name)


def main(args: argparse.Namespace) -> int:
    """Run the chosen service until SIGTERM/SIGINT; exit 0 after a clean drain."""
    from common.settings_errors import settings_or_exit  # noqa: PLC0415

    service: str = args.service
    program = f"isr {service}"
    if service == "tailer":
        from tailer.service import run as run_tailer  # noqa: PLC0415
        from tailer.settings import TailerSettings  # noqa: PLC0415

        overrides: dict[str, object] = {"server": args.server}
        if args.log is not None:
            overrides["log_path"] = args.log
        tailer_settings = settings_or_exit(
            lambda: TailerSettings(**overrides),  # type: ignore[arg-type]
            program=program,
        )
        asyncio.run(run_tailer(tailer_settings))
    elif service == "parser":
        from parser.service import run as run_parser  # noqa: PLC0415
        from parser.settings import ParserSettings  # noqa: PLC0415

        asyncio.run(run_parser(settings_or_exit(ParserSettings, program=program)))
    elif service == "persistence":
        from persistence.service import run as run_persistence  # noqa: PLC0415
        from persistence.settings import PersistenceSettings  # noqa: PLC0415

        asyncio.run(run_persistence(settings_or_exit(PersistenceSettings, program=program)))
    elif service == "rcon-poller":
        from rcon_poller.service import run as run_poller  # noqa: PLC0415
        from rcon_poller.settings import PollerSettings  # noqa: PLC0415

        asyncio.run(run_poller(settings_or_exit(PollerSettings, program=program)))
    elif service == "bot":
        from bot.service import main as run_bot  # noqa: PLC0415

        return run_bot(args)
    return 0
