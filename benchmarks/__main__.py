"""``python -m benchmarks [name ...]``: run the benchmarks and print figures with baselines."""

from __future__ import annotations

import sys

from benchmarks import corpus, parse


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks (all by default)."""
    chosen = set(argv) or {"parse"}
    lines = corpus.generate(1_000_000)
    print(f"corpus: {len(lines):,} lines")
    if "parse" in chosen:
        parse.run(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
