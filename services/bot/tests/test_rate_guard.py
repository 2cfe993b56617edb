"""The 429 guard's pure state: routes, reading a 429, not-before times and episodes."""

from __future__ import annotations

from bot.rate_guard import EpisodeEnded, EpisodeStarted, Limited, RateLimitGuard, read_429, route_of

GLOBAL_429 = Limited(is_global=True, scope="global", retry_after_s=1.5)
ROUTE_429 = Limited(is_global=False, scope="user", retry_after_s=0.2)
POST = "POST /channels/{id}/messages"


def test_routes_drop_ids_and_interaction_tokens():
    """Channel ids, application ids and tokens become placeholders; the API prefix goes."""
    assert route_of("post", "/api/v10/channels/1077/messages") == POST
    assert route_of("POST", "/api/v10/interactions/55/aW50ZXJhY3Rpb24/callback") == (
        "POST /interactions/{id}/{token}/callback"
    )
    assert route_of("PATCH", "/api/v10/webhooks/22/tok-en/messages/@original") == (
        "PATCH /webhooks/{id}/{token}/messages/@original"
    )


def test_a_global_429_is_read_from_headers_or_body():
    """X-RateLimit-Global, scope global or "global": true each mark it global; body time wins."""
    by_header = read_429({"X-RateLimit-Global": "true", "Retry-After": "2"}, None)
    by_scope = read_429({"X-RateLimit-Scope": "global"}, {"retry_after": 1.5})
    by_body = read_429({}, {"global": True, "retry_after": 0.25})
    route = read_429({"X-RateLimit-Scope": "user", "Retry-After": "3"}, {"retry_after": "x"})

    assert by_header == Limited(is_global=True, scope="global", retry_after_s=2.0)
    assert by_scope == Limited(is_global=True, scope="global", retry_after_s=1.5)
    assert by_body == Limited(is_global=True, scope="global", retry_after_s=0.25)
    assert route == Limited(is_global=False, scope="user", retry_after_s=3.0)
    assert read_429({}, {"retry_after": 1e9}).retry_after_s == 600.0


def test_a_global_429_holds_every_bot_request_until_retry_after():
    """After a global 429 every token request waits for the rest of retry_after; others don't."""
    guard = RateLimitGuard()
    guard.on_429(POST, GLOBAL_429, authenticated=True, now=10.0)

    assert guard.delay_s(authenticated=True, now=10.5) == 1.0
    assert guard.delay_s(authenticated=True, now=11.5) == 0.0
    assert guard.delay_s(authenticated=False, now=10.5) == 0.0


def test_a_route_429_leaves_the_waiting_to_hikari():
    """A per-route 429 sets no process-wide wait (hikari sleeps out route limits itself)."""
    guard = RateLimitGuard()
    guard.on_429(POST, ROUTE_429, authenticated=True, now=10.0)

    assert guard.delay_s(authenticated=True, now=10.0) == 0.0


def test_one_episode_per_run_of_429s():
    """Three 429s start one episode; the next good answer ends it with the count."""
    guard = RateLimitGuard()
    starts = [guard.on_429(POST, GLOBAL_429, authenticated=True, now=10.0 + i) for i in range(3)]
    ended = guard.on_answer(POST, authenticated=True, now=14.0)

    assert starts == [EpisodeStarted("global", POST, 1.5), None, None]
    assert ended == [EpisodeEnded("global", POST, 3, 4.0)]
    assert guard.on_answer(POST, authenticated=True, now=15.0) == []
