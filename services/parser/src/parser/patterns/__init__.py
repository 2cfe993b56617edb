"""Pattern files: schema, loader with self-tests, and the RE2 matching engine."""

from common.config.registry import FileValidator
from parser.patterns.checks import check_pattern_file

CONFIG_VALIDATOR = FileValidator("patterns/*", check_pattern_file)
"""Lets ``isr check-config`` validate the pattern files (entry point isr.config_validators)."""

__all__ = ["CONFIG_VALIDATOR"]
