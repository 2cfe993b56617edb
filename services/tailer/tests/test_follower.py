import os
from pathlib import Path

from tailer.checkpoint import Checkpoint
from tailer.follower import LogFollower


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
