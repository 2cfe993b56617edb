"""Slash commands: the table, the pure dispatch and reply builders, the hikari shell."""
