"""Subcommands of the isr command; each module defines add_arguments() and main()."""
