"""A fake Discord (REST + gateway) for running the real hikari client in tests."""

from isr_testing.fakediscord.server import FakeDiscord, InteractionState, RecordedRequest

__all__ = ["FakeDiscord", "InteractionState", "RecordedRequest"]
