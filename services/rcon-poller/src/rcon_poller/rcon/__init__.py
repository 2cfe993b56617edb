"""The asyncio Source RCON client: framing, one connection, and a managed reconnecting link."""
