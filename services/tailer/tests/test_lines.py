from tailer.lines import Line, LineSplitter


class TestLineSplitter:
    def test_partial_line_is_held_until_its_newline(self):
        """A line split across two reads comes out once, whole, with its starting offset."""
        splitter = LineSplitter(100)

        first = splitter.feed(b"2026-01-01 00:00:00 [JOIN] Bo")
        second = splitter.feed(b"b joined the game\n")

        assert first == []
        assert second == [Line(100, "2026-01-01 00:00:00 [JOIN] Bob joined the game")]
        assert splitter.committed_offset == 100 + 47

    def test_crlf_is_stripped(self):
        """CRLF line endings do not leave a carriage return in the text."""
        splitter = LineSplitter()

        assert [Line(0, "a"), Line(3, "b")] == splitter.feed(b"a\r\nb\n")

    def test_invalid_utf8_is_replaced(self):
        """Invalid UTF-8 becomes U+FFFD instead of raising."""
        splitter = LineSplitter()

        assert [Line(0, "J\ufffdrg")] == splitter.feed(b"J\xffrg\n")

    def test_overlong_line_is_cut_and_flagged_and_rest_skipped(self):
        """A line over the limit is cut at the limit, flagged, and its remainder is skipped."""
        splitter = LineSplitter(max_line_bytes=4)

        lines = splitter.feed(b"abcdefgh") + splitter.feed(b"ij\nok\n")

        assert lines == [Line(0, "abcd", truncated=True), Line(11, "ok")]
        assert splitter.committed_offset == 14

    def test_committed_offset_excludes_partial_tail(self):
        """The checkpoint offset never moves past the start of an unfinished line."""
        splitter = LineSplitter()

        splitter.feed(b"one\ntw")

        assert splitter.committed_offset == 4
        assert splitter.has_partial

    def test_lone_cr_ends_a_line(self):
        """A carriage return alone (old Mac, some Windows tools) ends a line like a newline."""
        splitter = LineSplitter()

        lines = splitter.feed(b"a joined\rb joined\rc\n")

        assert lines == [Line(0, "a joined"), Line(9, "b joined"), Line(18, "c")]
        assert splitter.committed_offset == 20

    def test_crlf_split_across_reads_is_one_line_end(self):
        """A CR as the last byte of a read waits for the next: CR then LF make one line end."""
        splitter = LineSplitter()

        first = splitter.feed(b"a\r")
        second = splitter.feed(b"\nb\r\n")

        assert first == []
        assert splitter.committed_offset == 3 + 3  # "a\r\n" and "b\r\n", no empty line between
        assert second == [Line(0, "a"), Line(3, "b")]

    def test_cr_at_the_end_of_a_read_followed_by_text_ends_the_line(self):
        """A held-back CR followed by anything but LF ended its line; the next starts after it."""
        splitter = LineSplitter()

        first = splitter.feed(b"a\r")
        second = splitter.feed(b"b\r")

        assert first == []
        assert second == [Line(0, "a")]
        assert splitter.committed_offset == 2
        assert splitter.has_partial

    def test_finish_releases_a_last_line_ended_by_a_lone_cr(self):
        """When the file is complete, a held-back line ended by a lone CR is a whole line."""
        splitter = LineSplitter()
        splitter.feed(b"a\rb\r")

        assert splitter.finish() == [Line(2, "b")]
        assert splitter.committed_offset == 4
        assert not splitter.has_partial

    def test_finish_keeps_an_unterminated_line(self):
        """A partial line without any line end is not released by finish (still being written)."""
        splitter = LineSplitter()
        splitter.feed(b"a\nhalf")

        assert splitter.finish() == []
        assert splitter.committed_offset == 2

    def test_overlong_line_ended_by_crlf_split_across_reads(self):
        """The CR of an over-long line's CRLF at a read's end does not make an empty line."""
        splitter = LineSplitter(max_line_bytes=4)

        lines = splitter.feed(b"abcdefg\r") + splitter.feed(b"\nok\r\n")

        assert lines == [Line(0, "abcd", truncated=True), Line(9, "ok")]

    def test_committed_tail_is_the_last_bytes_before_the_committed_offset(self):
        """The committed tail follows the committed offset, held-back bytes excluded."""
        splitter = LineSplitter(10, committed_tail=b"before")

        splitter.feed(b"x\ny")

        assert splitter.committed_tail == b"beforex\n"
