"""The size limits every configuration file is read under (documented in docs/configuration.md).

They exist so that no file, however it is written, can make a service or ``isr check-config``
run out of memory, recurse past Python's stack, or stay busy for minutes: a "billion laughs"
alias bomb of 700 bytes expands to gigabytes, 5,000 nested brackets overflow a recursive
walker, and ``password_file: /dev/zero`` never ends. Each limit is far above what a real
configuration needs.
"""

from __future__ import annotations

from typing import Final

YAML_MAX_BYTES: Final = 512 * 1024
"""Largest YAML file read (512 KiB; a 1,000-server servers.yml is about 140 KB)."""
YAML_MAX_DEPTH: Final = 64
"""Deepest nesting of mappings and lists, counted through aliases (servers.yml needs 5)."""
YAML_MAX_NODES: Final = 100_000
"""Most values (keys, items, scalars) a YAML file may hold, each use of an alias counted whole."""
SECRET_MAX_BYTES: Final = 64 * 1024
"""Largest secret file read (64 KiB; a password or token is well under 1 KiB)."""
