"""Following one console-log file across appends, rotation, truncation and restarts.

:class:`LogFollower` owns the file. Each :meth:`LogFollower.read_batch` returns the whole lines
that one read produced (or nothing) together with the offset up to which they reach; the caller
publishes them and only then calls :meth:`LogFollower.commit` to move the checkpoint.

- **Rename rotation**: while the path names a new file, the old one (still open) is read to its
  end first, then the new one is followed from its start with the next generation.
- **Copy-truncate**: a file shorter than our offset was truncated; it is read again from 0 with
  the next generation.
- **Deleted and recreated / not there yet**: waits for the path to appear.
- **Restart**: resumes at the checkpoint when the path still names the checkpointed file; when it
  names another file (rotated while we were down), the old file is looked for by inode next to it
  and finished first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from tailer.checkpoint import Checkpoint, file_id
from tailer.lines import MAX_LINE_BYTES, Line, LineSplitter

log = structlog.get_logger()

READ_CHUNK_BYTES = 64 * 1024
"""Largest single read (one raw batch): small enough that a parser pulling several stays
lean, large enough that a burst moves ~1,000 lines per message."""

StartPolicy = Literal["end", "beginning"]
"""Where to start a file when there is no checkpoint."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines from one read and the checkpoint to commit once they are published."""

    file_id: str
    generation: int
    lines: list[Line]
    checkpoint: Checkpoint


class _Open:
    def __init__(
        self, path: Path, fd: int, st: os.stat_result, generation: int, offset: int
    ) -> None:
        self.path = path
        self.fd = fd
        self.dev = st.st_dev
        self.ino = st.st_ino
        self.generation = generation
        self.splitter = LineSplitter(offset, max_line_bytes=MAX_LINE_BYTES)
        self.read_offset = offset

    @property
    def file_id(self) -> str:
        return file_id(self.dev, self.ino, self.generation)

    def same_file(self, st: os.stat_result) -> bool:
        return st.st_dev == self.dev and st.st_ino == self.ino

    def close(self) -> None:
        os.close(self.fd)


class LogFollower:
    """Reads whole lines from a log file path, whatever happens to the file."""

    def __init__(
        self, path: Path, *, checkpoint: Checkpoint | None, start: StartPolicy = "end"
    ) -> None:
        self._path = path
        self._checkpoint = checkpoint
        self._start = start
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
        st = os.fstat(fd)
        cp = self._checkpoint
        self._checkpoint = None
        from_end = self._start == "end" and self._apply_start_policy
        self._apply_start_policy = False
        if cp is not None and (st.st_dev, st.st_ino) == (cp.dev, cp.ino):
            offset = cp.offset if cp.offset <= st.st_size else 0
            generation = cp.generation if cp.offset <= st.st_size else self._take_generation()
            log.info("tailer_resumed", path=str(self._path), offset=offset)
            return _Open(self._path, fd, st, generation, offset)
        if cp is not None:
            old = self._find_rotated(cp)
            if old is not None:
                os.close(fd)
                log.info("tailer_finishing_rotated_file", path=str(old.path), offset=cp.offset)
                return old
            log.warning("tailer_checkpoint_file_gone", path=str(self._path))
            return _Open(self._path, fd, st, self._take_generation(), 0)
        offset = st.st_size if from_end else 0
        return _Open(self._path, fd, st, self._take_generation(), offset)

    def _take_generation(self) -> int:
        generation = self._next_generation
        self._next_generation += 1
        return generation

    def _find_rotated(self, cp: Checkpoint) -> _Open | None:
        """Find the checkpointed file by inode next to the path (renamed by rotation)."""
        directory = self._path.parent
        try:
            candidates = list(directory.iterdir())
        except OSError:
            return None
        for candidate in candidates:
            try:
                st = candidate.stat()
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == (cp.dev, cp.ino) and st.st_size >= cp.offset:
                fd = os.open(candidate, os.O_RDONLY)
                return _Open(candidate, fd, os.fstat(fd), cp.generation, cp.offset)
        return None

    def read_batch(self) -> Batch | None:
        """Read what is new; return the whole lines it completes, or None when nothing is."""
        if self._current is None:
            self._current = self._open()
            if self._current is None:
                return None
        cur = self._current
        st = os.fstat(cur.fd)
        if st.st_size < cur.read_offset:
            log.warning("tailer_truncation_detected", path=str(cur.path), offset=cur.read_offset)
            cur.close()
            fd = os.open(cur.path, os.O_RDONLY)
            self._current = cur = _Open(cur.path, fd, os.fstat(fd), self._take_generation(), 0)
            st = os.fstat(cur.fd)
        if st.st_size > cur.read_offset:
            chunk = os.pread(
                cur.fd, min(READ_CHUNK_BYTES, st.st_size - cur.read_offset), cur.read_offset
            )
            cur.read_offset += len(chunk)
            lines = cur.splitter.feed(chunk)
            if lines:
                return Batch(
                    cur.file_id,
                    cur.generation,
                    lines,
                    Checkpoint(
                        dev=cur.dev,
                        ino=cur.ino,
                        generation=cur.generation,
                        offset=cur.splitter.committed_offset,
                    ),
                )
        # At the end of this file: has the path moved on to another file?
        path_st = self._stat_path()
        if path_st is not None and not cur.same_file(path_st):
            if cur.splitter.has_partial:
                log.warning("tailer_rotated_with_partial_line", path=str(cur.path))
            log.info("tailer_rotation_detected", old=str(cur.path), path=str(self._path))
            cur.close()
            self._current = None
            fd = os.open(self._path, os.O_RDONLY) if path_st is not None else None
            if fd is not None:
                self._current = _Open(self._path, fd, os.fstat(fd), self._take_generation(), 0)
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
