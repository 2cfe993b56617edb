"""Factorio ISR shared contracts, configuration and runtime."""
