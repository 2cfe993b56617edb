"""Discord bot (hikari): event relay and slash commands."""
