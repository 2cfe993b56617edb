"""``python -m benchmarks [name ...]``: run the benchmarks and print figures with baselines."""

from __future__ import annotations

import importlib
import sys

from benchmarks import corpus

#: name -> module with ``run(lines) -> dict``; `python -m benchmarks NAME ...` picks some.
#: Only the ones in NEEDS_CORPUS read the 1M-line corpus; the others get an empty list.
BENCHMARKS = {
    "parse": "benchmarks.parse",
    "ingestion": "benchmarks.ingestion",
    "bot": "benchmarks.bot",
    "persistence": "benchmarks.persistence",
    "rcon_poller": "benchmarks.rcon_poller",
    "tracing": "benchmarks.tracing",
}
NEEDS_CORPUS = {"parse", "ingestion", "tracing"}


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks (all by default)."""
    unknown = set(argv) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
        return 2
    chosen = [name for name in BENCHMARKS if not argv or name in argv]
    lines: list[str] = []
    if NEEDS_CORPUS & set(chosen):
        lines = corpus.generate(1_000_000)
        print(f"corpus: {len(lines):,} lines (seed 1234)")
    for name in chosen:
        print(f"== {name}")
        importlib.import_module(BENCHMARKS[name]).run(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
