"""``isr watch``: print events and alerts live as they cross the events stream."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser, _name: str) -> None:
    """Register the flags."""
    parser.add_argument("--server", default="*", help="only this server's events")
    parser.add_argument("--all", action="store_true", help="replay the stream from its start")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")


def main(args: argparse.Namespace) -> int:
    """Run until Ctrl-C."""
    import asyncio  # noqa: PLC0415

    from isr_cli.watching import watch  # noqa: PLC0415

    try:
        asyncio.run(watch(server=args.server, replay=args.all, as_json=args.json, out=sys.stdout))
    except KeyboardInterrupt:
        return 0
    return 0
