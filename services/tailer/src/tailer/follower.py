"""Following one console-log file across appends, rotation, truncation and restarts.

:class:`LogFollower` owns the file. Each :meth:`LogFollower.read_batch` returns the whole lines
that one read produced (or nothing) together with the offset up to which they reach; the caller
publishes them and only then stores the batch's checkpoint.

A file is recognised by its inode *and* by its content: the last bytes before the committed
offset (``tailer.fingerprint``) are checked whenever the file has changed size and on every
resume, so content replaced under the same inode is noticed even when the file has meanwhile
grown past the old offset.

- **Rename rotation**: while the path names a new file, the old one (still open) is read to its
  end first, then the new one is followed from its start with the next generation.
- **Copy-truncate** (the content under the same inode was replaced: the file shrank, or the
  bytes before our offset changed): a copy of the old content next to the path (a file in the
  same directory holding the same bytes before our offset, such as ``console.log.1``) is read
  from our offset to its end first, under the old file's id; then the path is read again from 0
  with the next generation. Without such a copy, whatever the old content held past our offset
  is gone: that is logged as ``tailer_lines_possibly_lost`` and reported to
  ``on_possible_loss``, never silent.
- **Deleted and recreated / not there yet**: waits for the path to appear.
- **Restart**: resumes at the checkpoint when the path still names the checkpointed file with
  the checkpointed content; when it names another file (rotated while we were down), the old
  file is looked for by inode next to it and finished first; when its content was replaced
  (copy-truncated while we were down), the copy is looked for as above.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from tailer.checkpoint import Checkpoint, file_id
from tailer.fingerprint import Fingerprint, read_window
from tailer.lines import MAX_LINE_BYTES, TAIL_BYTES, Line, LineSplitter

log = structlog.get_logger()

READ_CHUNK_BYTES = 64 * 1024
"""Largest single read (one raw batch): small enough that a parser pulling several stays
lean, large enough that a burst moves ~1,000 lines per message."""

StartPolicy = Literal["end", "beginning"]
"""Where to start a file when there is no checkpoint."""

LossReason = Literal["content_replaced", "file_gone"]
"""Why lines may have been lost: the file's content was replaced under its inode (truncated or
copy-truncated) with no copy of the old content found, or the checkpointed file is gone."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines from one read and the checkpoint to commit once they are published."""

    file_id: str
    generation: int
    lines: list[Line]
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class PossibleLoss:
    """Content the tailer had not read may be gone (how many lines it held is unknowable)."""

    path: str
    reason: LossReason
    offset: int
    """How far the old content had been read (and published)."""


class _Open:
    """An open file, read from ``offset`` under the identity (``dev``, ``ino``) of its id.

    The identity is the file's own, except for a copy of a copy-truncated file, which is read
    under the original's identity so that its lines keep the ids they would have had.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        generation: int,
        offset: int,
        *,
        identity: tuple[int, int] | None = None,
    ) -> None:
        st = os.fstat(fd)
        self.path = path
        self.fd = fd
        self.own_inode = (st.st_dev, st.st_ino)
        self.dev, self.ino = identity or self.own_inode
        self.generation = generation
        tail = read_window(fd, end=offset, length=TAIL_BYTES) if offset else b""
        self.splitter = LineSplitter(offset, max_line_bytes=MAX_LINE_BYTES, committed_tail=tail)
        self.read_offset = offset

    @property
    def file_id(self) -> str:
        return file_id(self.dev, self.ino, self.generation)

    def same_file(self, st: os.stat_result) -> bool:
        return (st.st_dev, st.st_ino) == self.own_inode

    def fingerprint(self) -> Fingerprint:
        """The content just before the committed offset."""
        return Fingerprint.of(self.splitter.committed_tail, end=self.splitter.committed_offset)

    def still_holds_what_was_read(self, size: int) -> bool:
        """False when the content was replaced: the file shrank, or its committed tail changed."""
        if size < self.read_offset:
            return False
        tail = self.splitter.committed_tail
        end = self.splitter.committed_offset
        return not tail or read_window(self.fd, end=end, length=len(tail)) == tail

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            dev=self.dev,
            ino=self.ino,
            generation=self.generation,
            offset=self.splitter.committed_offset,
            fingerprint=self.fingerprint(),
        )

    def close(self) -> None:
        os.close(self.fd)


class LogFollower:
    """Reads whole lines from a log file path, whatever happens to the file."""

    def __init__(
        self,
        path: Path,
        *,
        checkpoint: Checkpoint | None,
        start: StartPolicy = "end",
        on_possible_loss: Callable[[PossibleLoss], None] | None = None,
    ) -> None:
        self._path = path
        self._checkpoint = checkpoint
        self._start = start
        self._on_possible_loss = on_possible_loss
        self._current: _Open | None = None
        self._next_generation = checkpoint.generation + 1 if checkpoint else 0
        # The start policy applies only to a file that existed when we started; a file that
        # appears later is new, so all of it is read.
        self._apply_start_policy = True

    @property
    def path(self) -> Path:
        """The followed path."""
        return self._path

    def close(self) -> None:
        """Close the file descriptor."""
        if self._current is not None:
            self._current.close()
            self._current = None

    def _stat_path(self) -> os.stat_result | None:
        try:
            return self._path.stat()
        except FileNotFoundError:
            return None

    def _open(self) -> _Open | None:
        """Open the file at the path (or the checkpointed one on first call)."""
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            self._apply_start_policy = False
            return None
        cp = self._checkpoint
        self._checkpoint = None
        from_end = self._start == "end" and self._apply_start_policy
        self._apply_start_policy = False
        if cp is not None:
            return self._resume(cp, fd)
        offset = os.fstat(fd).st_size if from_end else 0
        return _Open(self._path, fd, self._take_generation(), offset)

    def _resume(self, cp: Checkpoint, fd: int) -> _Open:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) == (cp.dev, cp.ino):
            if _holds(fd, st.st_size, cp):
                log.info("tailer_resumed", path=str(self._path), offset=cp.offset)
                return _Open(self._path, fd, cp.generation, cp.offset)
            log.warning(
                "tailer_content_replaced", path=str(self._path), offset=cp.offset, size=st.st_size
            )
            reason: LossReason = "content_replaced"
        else:
            renamed = self._find_by_inode(cp)
            if renamed is not None:
                os.close(fd)
                log.info("tailer_finishing_rotated_file", path=str(renamed.path), offset=cp.offset)
                return renamed
            reason = "file_gone"
        copy = self._find_copy(cp)
        if copy is not None:
            os.close(fd)
            return copy
        self._possibly_lost(reason, offset=cp.offset)
        return _Open(self._path, fd, self._take_generation(), 0)

    def _take_generation(self) -> int:
        generation = self._next_generation
        self._next_generation += 1
        return generation

    def _siblings(self) -> list[Path]:
        try:
            return sorted(self._path.parent.iterdir())
        except OSError:
            return []

    def _find_by_inode(self, cp: Checkpoint) -> _Open | None:
        """Find the checkpointed file by inode next to the path (renamed by rotation)."""
        for candidate in self._siblings():
            try:
                st = candidate.stat()
            except OSError:
                continue
            if (st.st_dev, st.st_ino) != (cp.dev, cp.ino):
                continue
            fd = os.open(candidate, os.O_RDONLY)
            if _holds(fd, os.fstat(fd).st_size, cp):
                return _Open(candidate, fd, cp.generation, cp.offset)
            os.close(fd)
        return None

    def _find_copy(self, cp: Checkpoint) -> _Open | None:
        """Find a copy of the checkpointed content next to the path (rotated by copy-truncate).

        A copy is a regular file of the path's directory, other than the file at the path,
        that holds the checkpoint's fingerprinted bytes at the same place and reaches its
        offset. It is read from the checkpoint offset under the checkpointed file's identity.
        """
        if cp.fingerprint is None:
            return None
        at_path = self._stat_path()
        for candidate in self._siblings():
            try:
                st = candidate.stat()
            except OSError:
                continue
            if not _is_copy_candidate(st, cp, at_path):
                continue
            try:
                fd = os.open(candidate, os.O_RDONLY)
            except OSError:
                continue
            if _holds(fd, os.fstat(fd).st_size, cp):
                log.info("tailer_finishing_rotated_copy", path=str(candidate), offset=cp.offset)
                return _Open(candidate, fd, cp.generation, cp.offset, identity=(cp.dev, cp.ino))
            os.close(fd)
        return None

    def _possibly_lost(self, reason: LossReason, *, offset: int) -> None:
        loss = PossibleLoss(str(self._path), reason, offset)
        log.warning(
            "tailer_lines_possibly_lost",
            path=loss.path,
            reason=reason,
            read_up_to=offset,
            hint="keep a copy of rotated logs next to the log (e.g. console.log.1), see "
            "docs/architecture.md#log-rotation",
        )
        if self._on_possible_loss is not None:
            self._on_possible_loss(loss)

    def _replaced(self, cur: _Open) -> _Open | None:
        """The followed file's content was replaced while we follow it (copy-truncate)."""
        log.warning("tailer_content_replaced", path=str(cur.path), offset=cur.read_offset)
        cur.close()
        committed = cur.checkpoint()
        copy = self._find_copy(committed) if committed.offset else None
        if copy is not None:
            return copy
        if committed.offset or cur.splitter.has_partial:
            self._possibly_lost("content_replaced", offset=committed.offset)
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        return _Open(self._path, fd, self._take_generation(), 0)

    def read_batch(self) -> Batch | None:
        """Read what is new; return the whole lines it completes, or None when nothing is."""
        if self._current is None:
            self._current = self._open()
            if self._current is None:
                return None
        cur = self._current
        st = os.fstat(cur.fd)
        if st.st_size != cur.read_offset and not cur.still_holds_what_was_read(st.st_size):
            self._current = self._replaced(cur)
            if self._current is None:
                return None
            cur = self._current
            st = os.fstat(cur.fd)
        if st.st_size > cur.read_offset:
            chunk = os.pread(
                cur.fd, min(READ_CHUNK_BYTES, st.st_size - cur.read_offset), cur.read_offset
            )
            cur.read_offset += len(chunk)
            lines = cur.splitter.feed(chunk)
            if lines:
                return Batch(cur.file_id, cur.generation, lines, cur.checkpoint())
        # At the end of this file: has the path moved on to another file?
        path_st = self._stat_path()
        if path_st is not None and not cur.same_file(path_st):
            # The old file is complete: a last line ended by a lone CR is whole. (The next call
            # comes back here and moves on.)
            if last := cur.splitter.finish():
                return Batch(cur.file_id, cur.generation, last, cur.checkpoint())
            if cur.splitter.has_partial:
                log.warning("tailer_rotated_with_partial_line", path=str(cur.path))
            log.info("tailer_rotation_detected", old=str(cur.path), path=str(self._path))
            cur.close()
            self._current = None
            try:
                fd = os.open(self._path, os.O_RDONLY)
            except FileNotFoundError:
                return None
            self._current = _Open(self._path, fd, self._take_generation(), 0)
        return None

    def has_more(self) -> bool:
        """True when the file holds bytes not read yet (so the caller should not wait)."""
        cur = self._current
        if cur is None:
            return self._path.exists()
        try:
            return os.fstat(cur.fd).st_size > cur.read_offset
        except OSError:
            return False


def _holds(fd: int, size: int, cp: Checkpoint) -> bool:
    """True when the open file still holds what ``cp`` describes (old checkpoints: by size)."""
    if cp.offset > size:
        return False
    return cp.fingerprint is None or cp.fingerprint.matches(fd)


def _is_copy_candidate(st: os.stat_result, cp: Checkpoint, at_path: os.stat_result | None) -> bool:
    """A regular file long enough, and neither the file at the path nor the checkpointed one."""
    inode = (st.st_dev, st.st_ino)
    if not stat.S_ISREG(st.st_mode) or st.st_size < cp.offset:
        return False
    if at_path is not None and inode == (at_path.st_dev, at_path.st_ino):
        return False
    return inode != (cp.dev, cp.ino)
