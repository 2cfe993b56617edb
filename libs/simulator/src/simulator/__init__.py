"""A Factorio headless-server stand-in: real-format console logs and Source RCON."""
