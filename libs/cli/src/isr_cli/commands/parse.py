"""``isr parse [FILE|-]``: run the line parser offline; one JSON object per matched line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, _name: str) -> None:
    """Register the flags."""
    parser.add_argument("file", nargs="?", default="-", help="console log to read (- = stdin)")
    parser.add_argument("--server", default="local", help="server tag to put on the events")


def main(args: argparse.Namespace) -> int:
    """Print every event the file's lines make."""
    import json  # noqa: PLC0415

    from parser.factorio_log import parse_line  # noqa: PLC0415

    stream = (
        sys.stdin if args.file == "-" else Path(args.file).open(encoding="utf-8", errors="replace")  # noqa: SIM115
    )
    with stream:
        for raw in stream:
            line = raw.rstrip("\r\n")
            parsed = parse_line(line)
            if parsed is None:
                continue
            record = {
                "type": parsed.type,
                "server": args.server,
                "player": parsed.player,
                "message": parsed.message,
                "ts": parsed.ts.isoformat() if parsed.ts else None,
                "data": parsed.data,
                "pattern": parsed.pattern,
                "raw": line,
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0
