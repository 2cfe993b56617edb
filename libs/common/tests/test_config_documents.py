"""The one YAML reader: any text becomes plain data or `file:line: field: message` issues."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.config import ConfigError, ConfigIssue, parse_yaml, read_yaml
from common.config.limits import YAML_MAX_BYTES, YAML_MAX_DEPTH

FILE = Path("patterns/bad.yml")


def only_issue(text: str) -> ConfigIssue:
    """The single issue parsing ``text`` raises (fails the test on success)."""
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, FILE)
    (issue,) = caught.value.issues
    return issue


def billion_laughs(levels: int) -> str:
    """The classic alias bomb: each level holds nine aliases of the one before."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# Shapes found by independent testing that crashed the old reader with AttributeError or
# TypeError (a plain exception, so no configuration error and no alert), plus their siblings.
MALFORMED = {
    "merge key in a list item": (
        "base: &b {name: x}\npatterns:\n  - <<: [1, 2]\n",
        (3, "patterns[0]", "the << merge key needs a mapping or a list of mappings"),
    ),
    "python tag on a sequence": (
        "patterns: !!python/tuple [1, 2]\n",
        (1, "patterns", "YAML tag !!python/tuple is not supported; write a plain value"),
    ),
    "python tag on a mapping": (
        "patterns: !!python/object:os.system {}\n",
        (1, "patterns", "YAML tag !!python/object:os.system is not supported"),
    ),
    "local tag on a sequence": (
        "patterns: !mine [1]\n",
        (1, "patterns", "YAML tag !mine is not supported"),
    ),
    "set": ("a: !!set {x, y}\n", (1, "a", "YAML tag !!set is not supported")),
    "omap": ("a: !!omap [x: 1]\n", (1, "a", "YAML tag !!omap is not supported")),
    "binary": ("a: !!binary aGVsbG8=\n", (1, "a", "YAML tag !!binary is not supported")),
    "only key << with a scalar": (
        "<<: 1\n",
        (1, "", "the << merge key needs a mapping or a list of mappings, got a single value"),
    ),
    "<< with a list of scalars": (
        "a:\n  <<: [x]\n",
        (2, "a", "got a list holding a single value"),
    ),
    "two << keys": ("a: {<<: {x: 1}, <<: {y: 2}}\n", (1, "a", "a second << merge key")),
    "list as a key": ("? [1, 2]\n: 3\n", (1, "", "a mapping key must be a plain value")),
    "recursive alias": ("a: &a [*a]\n", (1, "a[0]", "alias *a is used inside the value")),
    "unknown alias": ("a: *nowhere\n", (1, "a", "alias *nowhere names no anchor")),
    "two documents": ("a: 1\n---\nb: 2\n", (2, "", "a file holds one YAML document")),
    "duplicate key": ("a: 1\nb: 2\na: 3\n", (3, "a", "duplicate key 'a' (first at line 1)")),
    "integer too long": ("port: " + "9" * 5000 + "\n", (1, "port", "!!int value is not a valid")),
    "explicit int tag on a word": ("port: !!int abc\n", (1, "port", "!!int value is not a valid")),
}


class TestMalformedDocuments:
    @pytest.mark.parametrize("name", MALFORMED)
    def test_malformed_shape_is_a_located_issue(self, name: str) -> None:
        """Each malformed shape becomes one issue with its line, field and message."""
        text, (line, field, message) = MALFORMED[name]

        issue = only_issue(text)

        assert (issue.file, issue.line, issue.field) == (FILE, line, field)
        assert message in issue.message

    @pytest.mark.parametrize(
        "text",
        [
            "[" * 5000 + "]" * 5000,
            "a: " + "{a: " * 5000 + "1" + "}" * 5000,
            "- " * 5000 + "x\n",
            # Indentation grows with depth, so 5,000 block levels exceed the size limit first.
            "".join(f"{' ' * i}k:\n" for i in range(500)),
        ],
        ids=["flow lists", "flow mappings", "block lists", "500 block mappings"],
    )
    def test_5000_levels_of_nesting_are_an_error(self, text: str) -> None:
        """5,000 nested levels are refused at the depth limit, never a RecursionError."""
        issue = only_issue(text)

        assert issue.message == f"nested deeper than {YAML_MAX_DEPTH} levels"
        assert issue.line is not None

    def test_nesting_at_the_limit_is_read(self) -> None:
        """Exactly the depth limit is still plain data."""
        text = "[" * YAML_MAX_DEPTH + "]" * YAML_MAX_DEPTH

        document = parse_yaml(text, FILE)

        depth, value = 0, document.data
        while isinstance(value, list):
            depth, value = depth + 1, value[0] if value else None
        assert depth == YAML_MAX_DEPTH

    @pytest.mark.timeout(30)
    @pytest.mark.parametrize("levels", [7, 9, 12])
    def test_billion_laughs_is_refused(self, levels: int) -> None:
        """An alias bomb (7 levels: 4.8 million values from 330 bytes) is refused by its count."""
        text = billion_laughs(levels)

        issue = only_issue(text)

        assert len(text) < 800
        assert "more than 100,000 values, counting each use of an alias" in issue.message
        assert issue.line is not None

    def test_alias_nested_beyond_the_depth_limit_is_refused(self) -> None:
        """Depth counts through aliases: a deep anchor used deeper still is refused."""
        deep = "[" * 40 + "]" * 40
        text = f"a: &deep {deep}\nb: {'[' * 30}*deep{']' * 30}\n"

        issue = only_issue(text)

        assert (issue.line, issue.message) == (2, f"nested deeper than {YAML_MAX_DEPTH} levels")


class TestMergeKeys:
    def test_own_keys_win_then_earlier_sources(self) -> None:
        """A mapping's own keys beat merged ones, and the first merged source beats later ones."""
        text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  x: 0\n"

        document = parse_yaml(text, FILE)

        assert document.data["c"] == {"x": 0, "y": 2, "z": 4}
        assert [document.line_of(("c", key)) for key in "xyz"] == [5, 1, 2]

    def test_merge_in_a_list_item(self) -> None:
        """A merge key inside a list item (once a crash) merges like anywhere else."""
        text = "x: &a {p: 1}\ny:\n  - <<: *a\n    q: 2\n"

        document = parse_yaml(text, FILE)

        assert document.data["y"] == [{"p": 1, "q": 2}]

    def test_mapping_whose_only_key_is_a_merge(self) -> None:
        """`<<: {...}` alone (once a crash) is the merged mapping."""
        assert parse_yaml("<<: {version: 1}\n", FILE).data == {"version": 1}

    def test_aliases_are_independent_copies(self) -> None:
        """Two uses of one anchor are equal values but not the same object."""
        document = parse_yaml("a: &a {k: [1]}\nb: *a\n", FILE)

        assert document.data["a"] == document.data["b"]
        assert document.data["a"] is not document.data["b"]


class TestFiles:
    def test_file_over_the_size_limit_is_refused(self, tmp_path: Path) -> None:
        """A file larger than the limit is refused before parsing."""
        path = tmp_path / "big.yml"
        path.write_text("# " + "x" * YAML_MAX_BYTES + "\n")

        with pytest.raises(ConfigError) as caught:
            read_yaml(path)

        (issue,) = caught.value.issues
        assert issue.message.startswith(f"file is larger than the limit of {YAML_MAX_BYTES:,}")

    @pytest.mark.timeout(10)
    def test_fifo_is_refused_without_hanging(self, tmp_path: Path) -> None:
        """A FIFO in place of a YAML file is refused at once."""
        path = tmp_path / "servers.yml"
        os.mkfifo(path)

        with pytest.raises(ConfigError) as caught:
            read_yaml(path)

        assert caught.value.issues[0].message == "file is a FIFO (named pipe), not a regular file"

    def test_device_is_refused(self) -> None:
        """/dev/zero is refused as a character device."""
        with pytest.raises(ConfigError) as caught:
            read_yaml(Path("/dev/zero"))

        assert caught.value.issues[0].message == "file is a character device, not a regular file"


# YAML's \u escapes do not pair surrogates, so text is written as itself (printable only).
_text = st.text(st.characters(categories=("L", "N", "P", "S", "Zs"), codec="utf-8"), max_size=20)
_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=20,
)


class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(_plain)
    def test_json_reads_back_as_the_same_data(self, value: Any) -> None:
        """JSON is YAML 1.2: any JSON document reads back as the same plain data."""
        assert value == parse_yaml(json.dumps(value, ensure_ascii=False), FILE).data

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.text(alphabet="ab:-[]{},&*!<? \n'\"#|>%@`\t1.~", max_size=60))
    def test_any_text_is_data_or_config_error(self, text: str) -> None:
        """Whatever the text, the reader returns a document or raises ConfigError, nothing else."""
        issues: tuple[ConfigIssue, ...] = ()
        try:
            parse_yaml(text, FILE)
        except ConfigError as exc:
            issues = exc.issues or (ConfigIssue(Path("none"), None, "", "no issue"),)

        assert all(issue.file == FILE for issue in issues)
