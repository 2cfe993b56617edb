"""``isr parse [FILE|-]``: run the pattern set offline; one JSON object per matched line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, _name: str) -> None:
    """Register the flags."""
    parser.add_argument("file", nargs="?", default="-", help="console log to read (- = stdin)")
    parser.add_argument("--server", default="local", help="server tag to put on the events")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config dir whose patterns/ to use (default $ISR_CONFIG_DIR or ./config)",
    )
    parser.add_argument(
        "--packs",
        default=os.environ.get("ISR_PARSER_PACKS", "vanilla,engine"),
        help="shipped packs, comma-separated (vanilla, engine, mods)",
    )
    parser.add_argument(
        "--unmatched", action="store_true", help="also print lines no pattern matched"
    )


def main(args: argparse.Namespace) -> int:
    """Print every event the input's lines make; exit 2 when the pattern set is invalid."""
    import json  # noqa: PLC0415

    from parser.patterns.loader import load_patterns  # noqa: PLC0415

    config_dir = args.config or Path(os.environ.get("ISR_CONFIG_DIR") or "config")
    packs = tuple(p.strip() for p in args.packs.split(",") if p.strip())
    result = load_patterns(config_dir, packs=packs)
    if result.patterns is None:
        for issue in result.issues:
            sys.stderr.write(f"{issue}\n")
        return 2
    patterns = result.patterns
    stream = (
        sys.stdin if args.file == "-" else Path(args.file).open(encoding="utf-8", errors="replace")  # noqa: SIM115
    )
    out = sys.stdout
    with stream:
        for raw in stream:
            line = raw.rstrip("\r\n")
            match = patterns.match(line)
            if match is None:
                if args.unmatched:
                    out.write(json.dumps({"type": None, "raw": line}, ensure_ascii=False) + "\n")
                continue
            record = {
                "type": match.spec.type,
                "server": args.server,
                "player": match.player,
                "message": match.message,
                "ts": match.line.ts.isoformat() if match.line.ts else None,
                "data": match.data,
                "pattern": match.spec.name,
                "channel": match.spec.channel,
                "raw": line,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0
