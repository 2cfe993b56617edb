"""Writes history to Postgres and answers history queries."""
