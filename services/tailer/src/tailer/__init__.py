"""Tails a Factorio console log and publishes raw line batches."""
