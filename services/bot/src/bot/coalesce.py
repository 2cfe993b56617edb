"""Combining queued items into as few Discord messages as the limits allow (pure).

A lane posts one message at a time. Whatever queued up meanwhile (a burst, or events waiting
out a 429) goes into the next message: consecutive lines are joined up to 2,000 characters,
consecutive embeds up to 10 per message and 6,000 characters. Lines and embeds are not mixed in
one message, because Discord shows content above embeds, which would break the order.
Nothing is dropped: what does not fit goes into the following message.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.render import (
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    MESSAGE_LIMIT,
    EmbedSpec,
    Item,
    Post,
)


def take_post(items: Sequence[Item], *, max_items: int | None = None) -> tuple[Post, int]:
    """The first message the head of ``items`` makes, and how many items it consumed (>= 1)."""
    if not items:
        raise ValueError("take_post needs at least one item")
    cap = len(items) if max_items is None else min(max_items, len(items))
    users: dict[int, None] = {}
    roles: dict[int, None] = {}
    if items[0].line is not None:
        lines: list[str] = []
        total = 0
        for item in items[:cap]:
            if item.line is None:
                break
            added = len(item.line) + (1 if lines else 0)
            if lines and total + added > MESSAGE_LIMIT:
                break
            lines.append(item.line)
            total += added
            users.update(dict.fromkeys(item.user_ids))
            roles.update(dict.fromkeys(item.role_ids))
        post = Post(content="\n".join(lines), user_ids=tuple(users), role_ids=tuple(roles))
        return post, len(lines)
    embeds: list[EmbedSpec] = []
    size = 0
    for item in items[:cap]:
        if item.embed is None or len(embeds) == EMBEDS_PER_MESSAGE:
            break
        if embeds and size + item.embed.size() > EMBED_TOTAL_LIMIT:
            break
        embeds.append(item.embed)
        size += item.embed.size()
        users.update(dict.fromkeys(item.user_ids))
        roles.update(dict.fromkeys(item.role_ids))
    return Post(embeds=tuple(embeds), user_ids=tuple(users), role_ids=tuple(roles)), len(embeds)
