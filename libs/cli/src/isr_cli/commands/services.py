"""``isr tailer|parser|persistence|rcon-poller|bot``: run one service in the foreground.

Each service reads its settings from the environment (see README, "Configuration"); the few
flags here override them for running by hand.
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
    service: str = args.service
    if service == "tailer":
        from tailer.service import run as run_tailer  # noqa: PLC0415
        from tailer.settings import TailerSettings  # noqa: PLC0415

        overrides: dict[str, object] = {"server": args.server}
        if args.log is not None:
            overrides["log_path"] = args.log
        asyncio.run(run_tailer(TailerSettings(**overrides)))  # type: ignore[arg-type]
    elif service == "parser":
        from parser.service import run as run_parser  # noqa: PLC0415
        from parser.settings import ParserSettings  # noqa: PLC0415

        asyncio.run(run_parser(ParserSettings()))
    elif service == "persistence":
        from persistence.service import run as run_persistence  # noqa: PLC0415
        from persistence.settings import PersistenceSettings  # noqa: PLC0415

        asyncio.run(run_persistence(PersistenceSettings()))
    elif service == "rcon-poller":
        from rcon_poller.service import run as run_poller  # noqa: PLC0415
        from rcon_poller.settings import PollerSettings  # noqa: PLC0415

        asyncio.run(run_poller(PollerSettings()))
    elif service == "bot":
        from bot.service import main as run_bot  # noqa: PLC0415

        return run_bot(args)
    return 0
