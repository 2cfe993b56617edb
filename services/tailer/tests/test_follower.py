import json
import os
from pathlib import Path

from tailer.checkpoint import Checkpoint
from tailer.follower import Batch, LogFollower, PossibleLoss


def _drain(follower: LogFollower) -> list[str]:
    texts: list[str] = []
    while (batch := follower.read_batch()) is not None or follower.has_more():
        if batch is not None:
            texts.extend(line.text for line in batch.lines)
    return texts


class TestLogFollower:
    def test_start_from_end_skips_existing_lines(self, tmp_path: Path):
        """Without a checkpoint and with start=end, only lines appended later are read."""
        log = tmp_path / "console.log"
        log.write_text("old\n")
        follower = LogFollower(log, checkpoint=None, start="end")
        assert _drain(follower) == []

        with log.open("a") as f:
            f.write("new\n")

        assert _drain(follower) == ["new"]

    def test_start_from_beginning_reads_existing_lines(self, tmp_path: Path):
        """With start=beginning every existing line is read."""
        log = tmp_path / "console.log"
        log.write_text("a\nb\n")

        assert _drain(LogFollower(log, checkpoint=None, start="beginning")) == ["a", "b"]

    def test_file_created_later_is_read_from_its_start(self, tmp_path: Path):
        """A log that does not exist yet is waited for and then read whole."""
        log = tmp_path / "console.log"
        follower = LogFollower(log, checkpoint=None, start="end")
        assert _drain(follower) == []

        log.write_text("first\n")

        assert _drain(follower) == ["first"]

    def test_resume_from_checkpoint(self, tmp_path: Path):
        """A checkpoint of the same file resumes exactly after the last committed line."""
        log = tmp_path / "console.log"
        log.write_text("a\nb\n")
        first = LogFollower(log, checkpoint=None, start="beginning")
        batch = first.read_batch()
        assert batch is not None
        first.close()
        with log.open("a") as f:
            f.write("c\n")

        resumed = LogFollower(log, checkpoint=batch.checkpoint, start="end")

        assert _drain(resumed) == ["c"]

    def test_rename_rotation_finishes_old_file_then_follows_new(self, tmp_path: Path):
        """Lines written to the old file after our last read are not lost when it is renamed."""
        log = tmp_path / "console.log"
        log.write_text("a\n")
        follower = LogFollower(log, checkpoint=None, start="beginning")
        assert _drain(follower) == ["a"]
        with log.open("a") as f:
            f.write("b\n")
        log.rename(tmp_path / "console.log.1")
        log.write_text("c\n")

        assert _drain(follower) == ["b", "c"]

    def test_rotation_while_stopped_finishes_old_file_found_by_inode(self, tmp_path: Path):
        """After a restart, a checkpointed file renamed meanwhile is finished before the new one."""
        log = tmp_path / "console.log"
        log.write_text("a\n")
        follower = LogFollower(log, checkpoint=None, start="beginning")
        batch = follower.read_batch()
        assert batch is not None
        follower.close()
        with log.open("a") as f:
            f.write("b\n")
        log.rename(tmp_path / "console.log.1")
        log.write_text("c\n")

        resumed = LogFollower(log, checkpoint=batch.checkpoint, start="end")

        assert _drain(resumed) == ["b", "c"]

    def test_copy_truncate_rereads_from_start_with_new_generation(self, tmp_path: Path):
        """A truncated file is read again from offset 0 under a new generation."""
        log = tmp_path / "console.log"
        log.write_text("aaaa\nbbbb\n")
        follower = LogFollower(log, checkpoint=None, start="beginning")
        first = follower.read_batch()
        assert first is not None
        os.truncate(log, 0)
        with log.open("a") as f:
            f.write("c\n")

        batch = follower.read_batch()

        assert batch is not None
        assert [line.text for line in batch.lines] == ["c"]
        assert batch.generation == first.generation + 1
        assert batch.file_id != first.file_id

    def test_checkpoint_offset_past_end_means_truncated(self, tmp_path: Path):
        """A checkpoint beyond the file's size (truncated while stopped) restarts at 0."""
        log = tmp_path / "console.log"
        log.write_text("x\n")
        st = log.stat()
        checkpoint = Checkpoint(dev=st.st_dev, ino=st.st_ino, generation=3, offset=500)

        follower = LogFollower(log, checkpoint=checkpoint, start="end")
        batch = follower.read_batch()

        assert batch is not None
        assert [line.text for line in batch.lines] == ["x"]
        assert batch.generation == 4


def _write(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def _copy_truncate(log: Path) -> Path:
    """``cp console.log console.log.1 && : > console.log``: the copy, and the same inode emptied."""
    copy = log.with_name(log.name + ".1")
    copy.write_bytes(log.read_bytes())
    with log.open("r+b") as f:
        f.truncate(0)
    return copy


def _read_all(follower: LogFollower) -> list[Batch]:
    batches: list[Batch] = []
    while (batch := follower.read_batch()) is not None or follower.has_more():
        if batch is not None:
            batches.append(batch)
    return batches


def _texts(batches: list[Batch]) -> list[str]:
    return [line.text for batch in batches for line in batch.lines]


class TestContentReplaced:
    def test_copy_truncate_while_stopped_finishes_the_copy_then_reads_the_new_file(
        self, tmp_path: Path
    ):
        """Copy-truncate while the tailer is down, regrown past the checkpoint: nothing lost."""
        log = tmp_path / "console.log"
        _write(log, [f"old {i}" for i in range(10)])
        first = LogFollower(log, checkpoint=None, start="beginning")
        checkpoint = _read_all(first)[-1].checkpoint
        first.close()
        _write(log, ["old 10 (written after the checkpoint)"])
        _copy_truncate(log)
        _write(log, [f"new content line {i}, longer than the old ones" for i in range(10)])
        assert log.stat().st_size > checkpoint.offset
        losses: list[PossibleLoss] = []

        resumed = LogFollower(log, checkpoint=checkpoint, on_possible_loss=losses.append)
        batches = _read_all(resumed)

        assert _texts(batches) == [
            "old 10 (written after the checkpoint)",
            *(f"new content line {i}, longer than the old ones" for i in range(10)),
        ]
        assert batches[0].file_id == checkpoint.file_id
        assert batches[0].lines[0].offset == checkpoint.offset
        assert {b.generation for b in batches[1:]} == {checkpoint.generation + 1}
        assert batches[1].lines[0].offset == 0
        assert losses == []

    def test_copy_truncate_while_stopped_without_a_copy_reports_a_possible_loss(
        self, tmp_path: Path
    ):
        """Without a copy of the old content, the new file is read whole and the loss reported."""
        log = tmp_path / "console.log"
        _write(log, [f"old {i}" for i in range(10)])
        first = LogFollower(log, checkpoint=None, start="beginning")
        checkpoint = _read_all(first)[-1].checkpoint
        first.close()
        _copy_truncate(log).unlink()
        _write(log, [f"new content line {i}, longer than the old ones" for i in range(10)])
        losses: list[PossibleLoss] = []

        resumed = LogFollower(log, checkpoint=checkpoint, on_possible_loss=losses.append)
        batches = _read_all(resumed)

        assert _texts(batches) == [
            f"new content line {i}, longer than the old ones" for i in range(10)
        ]
        assert batches[0].generation == checkpoint.generation + 1
        assert losses == [PossibleLoss(str(log), "content_replaced", checkpoint.offset)]

    def test_copy_truncate_while_not_reading_is_noticed_though_the_file_grew(self, tmp_path: Path):
        """A follower that was not reading (blocked) notices replaced content by its bytes."""
        log = tmp_path / "console.log"
        _write(log, [f"old {i}" for i in range(10)])
        losses: list[PossibleLoss] = []
        follower = LogFollower(
            log, checkpoint=None, start="beginning", on_possible_loss=losses.append
        )
        first = _read_all(follower)
        _write(log, ["old 10"])
        _copy_truncate(log)
        _write(log, [f"new content line {i}, longer than the old ones" for i in range(10)])

        batches = _read_all(follower)

        assert _texts(batches) == [
            "old 10",
            *(f"new content line {i}, longer than the old ones" for i in range(10)),
        ]
        assert batches[0].file_id == first[0].file_id
        assert batches[1].generation == first[0].generation + 1
        assert losses == []

    def test_plain_truncation_while_running_reports_a_possible_loss(self, tmp_path: Path):
        """``: > console.log`` without a copy: the new content is read, the loss is reported."""
        log = tmp_path / "console.log"
        _write(log, ["aaaa", "bbbb"])
        losses: list[PossibleLoss] = []
        follower = LogFollower(
            log, checkpoint=None, start="beginning", on_possible_loss=losses.append
        )
        _read_all(follower)
        os.truncate(log, 0)
        _write(log, ["c"])

        assert _texts(_read_all(follower)) == ["c"]
        assert losses == [PossibleLoss(str(log), "content_replaced", 10)]

    def test_a_checkpoint_without_fingerprint_still_resumes(self, tmp_path: Path):
        """A checkpoint written before fingerprints existed resumes at its offset, unchecked."""
        log = tmp_path / "console.log"
        _write(log, ["a", "b"])
        st = log.stat()
        stored = json.dumps(
            {"v": 1, "dev": st.st_dev, "ino": st.st_ino, "generation": 2, "offset": 2}
        )
        checkpoint = Checkpoint.model_validate_json(stored)

        batches = _read_all(LogFollower(log, checkpoint=checkpoint))

        assert checkpoint.fingerprint is None
        assert _texts(batches) == ["b"]
        assert batches[0].checkpoint.fingerprint is not None

    def test_unchanged_file_resumes_with_the_same_ids(self, tmp_path: Path):
        """A file that only grew resumes exactly at its checkpoint with the same file id."""
        log = tmp_path / "console.log"
        _write(log, [f"line {i}" for i in range(100)])
        first = LogFollower(log, checkpoint=None, start="beginning")
        checkpoint = _read_all(first)[-1].checkpoint
        first.close()
        _write(log, ["next"])

        batches = _read_all(
            LogFollower(
                log, checkpoint=Checkpoint.model_validate_json(checkpoint.model_dump_json())
            )
        )

        assert [(b.file_id, b.lines[0].offset, _texts([b])) for b in batches] == [
            (checkpoint.file_id, checkpoint.offset, ["next"])
        ]


class TestCarriageReturns:
    def test_cr_only_file_is_split_into_lines_with_exact_offsets(self, tmp_path: Path):
        """A log with lone CR line ends gives one line per CR, each at its byte offset."""
        log = tmp_path / "console.log"
        log.write_bytes(b"[JOIN] a joined\r[JOIN] b joined\rtail\r\n")

        batches = _read_all(LogFollower(log, checkpoint=None, start="beginning"))

        assert [(line.offset, line.text) for b in batches for line in b.lines] == [
            (0, "[JOIN] a joined"),
            (16, "[JOIN] b joined"),
            (32, "tail"),
        ]

    def test_crlf_written_in_two_appends_is_one_line_end(self, tmp_path: Path):
        """A CR appended first and its LF later end one line: no empty line, no split."""
        log = tmp_path / "console.log"
        log.write_bytes(b"a\r")
        follower = LogFollower(log, checkpoint=None, start="beginning")
        assert _read_all(follower) == []
        with log.open("ab") as f:
            f.write(b"\nb\r\n")

        assert [(line.offset, line.text) for b in _read_all(follower) for line in b.lines] == [
            (0, "a"),
            (3, "b"),
        ]

    def test_last_cr_line_of_a_rotated_file_is_not_lost(self, tmp_path: Path):
        """When a CR-only log is rotated, its last line (ended by a lone CR) is still read."""
        log = tmp_path / "console.log"
        log.write_bytes(b"a\rb\r")
        follower = LogFollower(log, checkpoint=None, start="beginning")
        assert _texts(_read_all(follower)) == ["a"]
        log.rename(tmp_path / "console.log.1")
        log.write_bytes(b"c\r\n")

        assert _texts(_read_all(follower)) == ["b", "c"]
