"""Entry point of the rcon-poller service (built in issue #4)."""

from __future__ import annotations

import sys


def main() -> int:
    """Say that this service is not built yet, and exit cleanly so supervisors do not loop."""
    sys.stderr.write("isr rcon-poller: not available in this version yet (tracked in issue #4)\n")
    return 0
