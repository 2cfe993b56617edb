"""Discord's 429s, seen from every request the bot makes (pure state; the hook is in bot.discord).

hikari retries rate-limited requests itself, but 2.7 retries a *global* 429 at once when the
route's bucket is not known yet (docs/discord.md, "Known upstream issues"): a fresh channel
under a global limit was hit about 70 times a second. :class:`RateLimitGuard` is the bot's
own guard under hikari:

- **A process-wide "not before" time.** A global 429 (``X-RateLimit-Global: true``, scope
  ``global`` or ``"global": true`` in the body) sets it to now + ``retry_after``; every request
  made with the bot token waits for it, whatever its route. Requests without the token
  (interaction callbacks and their webhooks, which Discord keeps out of the bot's global limit
  and which have a 3-second deadline) have their own "not before", set only by a global 429
  on such a request.
- **Episodes, not retries.** The first 429 of a route (or of the global limit) starts an
  episode, logged once; it ends, logged once with how many 429s it took, at the next answer
  that is not a 429. Every 429 is counted in ``isr.bot.discord_rate_limited`` (by scope and
  route).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_RETRY_AFTER_S = 1.0
"""Wait when a 429 names no time at all."""
MAX_RETRY_AFTER_S = 600.0
"""A longer ``retry_after`` is taken as this (a broken header must not park the bot for days)."""
GLOBAL = "global"

_ID = re.compile(r"/\d+(?=/|$)")
_TOKEN_ROUTE = re.compile(r"^(/(?:interactions/\{id\}|webhooks/\{id\}))/[^/]+")
_API_PREFIX = re.compile(r"^/api/v\d+")


def route_of(method: str, path: str) -> str:
    """``POST /channels/{id}/messages``: the route without ids and interaction tokens."""
    path = _API_PREFIX.sub("", path)
    path = _ID.sub("/{id}", path)
    path = _TOKEN_ROUTE.sub(r"\1/{token}", path)
    return f"{method.upper()} {path}"


@dataclass(frozen=True, slots=True)
class Limited:
    """What one 429 said."""

    is_global: bool
    scope: str
    """``global``, ``user``, ``shared`` (Discord's ``X-RateLimit-Scope``), or ``route``."""
    retry_after_s: float


def read_429(headers: Mapping[str, str], body: object) -> Limited:
    """The scope and wait of a 429 from its headers and JSON body (either may be missing)."""
    fields = body if isinstance(body, dict) else {}
    scope = headers.get("X-RateLimit-Scope", "").lower() or "route"
    is_global = (
        headers.get("X-RateLimit-Global", "").lower() == "true"
        or fields.get("global") is True
        or scope == GLOBAL
    )
    retry_after_s = DEFAULT_RETRY_AFTER_S
    for candidate in (
        fields.get("retry_after"),
        headers.get("Retry-After"),
        headers.get("X-RateLimit-Reset-After"),
    ):
        try:
            value = float(candidate)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if value >= 0:  # False for NaN too
            retry_after_s = value
            break
    return Limited(is_global, GLOBAL if is_global else scope, min(retry_after_s, MAX_RETRY_AFTER_S))


@dataclass(frozen=True, slots=True)
class EpisodeStarted:
    """The first 429 of a route or of the global limit."""

    scope: str
    route: str
    retry_after_s: float


@dataclass(frozen=True, slots=True)
class EpisodeEnded:
    """A route (or the global limit) answered again after ``responses_429`` 429s."""

    scope: str
    route: str
    responses_429: int
    lasted_s: float


@dataclass
class _Episode:
    scope: str
    route: str
    started_at: float
    count: int = 0


class RateLimitGuard:
    """Not-before times and 429 episodes (module doc); the caller passes the clock."""

    def __init__(self) -> None:
        self._not_before: dict[bool, float] = {True: 0.0, False: 0.0}
        self._episodes: dict[tuple[str, bool], _Episode] = {}

    def delay_s(self, *, authenticated: bool, now: float) -> float:
        """How long a request must wait before it may go out (0.0 = now)."""
        return max(0.0, self._not_before[authenticated] - now)

    def on_429(
        self, route: str, limited: Limited, *, authenticated: bool, now: float
    ) -> EpisodeStarted | None:
        """Record a 429; the episode it starts, if it is the first."""
        if limited.is_global:
            until = now + limited.retry_after_s
            self._not_before[authenticated] = max(self._not_before[authenticated], until)
        key = (GLOBAL if limited.is_global else route, authenticated)
        episode = self._episodes.get(key)
        started = None
        if episode is None:
            episode = self._episodes[key] = _Episode(limited.scope, route, now)
            started = EpisodeStarted(limited.scope, route, limited.retry_after_s)
        episode.count += 1
        return started

    def on_answer(self, route: str, *, authenticated: bool, now: float) -> list[EpisodeEnded]:
        """A request that was not rate limited: the episodes it ends."""
        ended = []
        for key in ((route, authenticated), (GLOBAL, authenticated)):
            episode = self._episodes.pop(key, None)
            if episode is not None:
                ended.append(
                    EpisodeEnded(
                        episode.scope, episode.route, episode.count, now - episode.started_at
                    )
                )
        return ended
