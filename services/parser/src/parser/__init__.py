"""Turns raw console-log lines into typed events."""
