"""Test fixtures for Factorio ISR: nats-server, Postgres, fake Discord."""
