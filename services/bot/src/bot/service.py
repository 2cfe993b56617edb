"""Entry point of the bot service (built in issue #6)."""

from __future__ import annotations

import sys


def main() -> int:
    """Say that this service is not built yet, and exit cleanly so supervisors do not loop."""
    sys.stderr.write("isr bot: not available in this version yet (tracked in issue #6)\n")
    return 0
