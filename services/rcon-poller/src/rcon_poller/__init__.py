"""Owns RCON connections: metrics, alerts, allow-listed commands."""
