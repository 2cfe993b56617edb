"""``isr check-config [DIR]``: validate the configuration directory and report every problem.

Exit status 0 prints a summary of the servers; 1 prints every problem, one per line, as
``file:line: field: message`` (the count goes to stderr). Secret references are resolved
against this process's environment, so run it where the services run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, _name: str) -> None:
    """Register the optional directory argument."""
    parser.add_argument(
        "config_dir",
        nargs="?",
        type=Path,
        default=None,
        metavar="DIR",
        help="configuration directory (default: $ISR_CONFIG_DIR, else ./config)",
    )


def main(args: argparse.Namespace) -> int:
    """Check the directory; 0 when valid, 1 when any problem was found."""
    import os  # noqa: PLC0415

    from common.config import (  # noqa: PLC0415
        check_config_dir,
        default_config_dir,
        format_issues,
        format_summary,
    )

    config_dir: Path = args.config_dir or default_config_dir(os.environ)
    config, issues = check_config_dir(config_dir)
    if issues or config is None:
        sys.stdout.write(format_issues(issues) + "\n")
        count = len(issues)
        sys.stderr.write(f"{count} problem{'' if count == 1 else 's'} in {config_dir}\n")
        return 1
    sys.stdout.write(f"{config_dir}: configuration is valid.\n\n{format_summary(config)}\n")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="isr check-config", description=__doc__)
    add_arguments(_parser, "check-config")
    sys.exit(main(_parser.parse_args()))
