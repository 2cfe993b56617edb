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
