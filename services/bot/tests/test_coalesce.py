from __future__ import annotations

from bot.coalesce import take_post
from bot.render import EmbedSpec, Item


class TestTakePost:
    def test_lines_are_joined_up_to_2000_characters(self):
        """Consecutive lines fill one message up to 2,000 characters; the rest waits."""
        items = [Item(line="x" * 999) for _ in range(3)]

        post, used = take_post(items)

        assert used == 2
        assert len(post.content) == 1999

    def test_lines_and_embeds_are_not_mixed(self):
        """A run of lines stops at the first embed, keeping the order."""
        items = [Item(line="a"), Item(embed=EmbedSpec("t")), Item(line="b")]

        assert take_post(items)[1] == 1
        assert take_post(items[1:])[1] == 1

    def test_at_most_ten_embeds(self):
        """Twelve embeds need two messages."""
        post, used = take_post([Item(embed=EmbedSpec(str(i))) for i in range(12)])

        assert (used, len(post.embeds)) == (10, 10)

    def test_pings_of_every_item_are_allowed(self):
        """The combined message may ping exactly the ids its items may ping."""
        post, _ = take_post([Item(line="a", role_ids=(1,)), Item(line="b", user_ids=(2,))])

        assert (post.role_ids, post.user_ids) == ((1,), (2,))
