"""Where a restarted tailer resumes: its checkpoint, or the end of its last published batch."""

from datetime import UTC, datetime

from common.contracts import RawLineBatch
from tailer.checkpoint import Checkpoint, resume_from

CHECKPOINT = Checkpoint(dev=1, ino=2, generation=0, offset=100)


def _batch(*, end: int | None, file_id: str = CHECKPOINT.file_id) -> RawLineBatch:
    return RawLineBatch(
        server="s",
        file_id=file_id,
        generation=0,
        offsets=(150,),
        lines=("x",),
        read_at=datetime(2026, 11, 27, tzinfo=UTC),
        end=end,
    )


def test_a_published_batch_beyond_the_checkpoint_moves_it():
    """Batches acknowledged but not yet checkpointed are not read (and published) again."""
    assert resume_from(CHECKPOINT, _batch(end=152)) == CHECKPOINT.model_copy(update={"offset": 152})


def test_the_checkpoint_stands_otherwise():
    """An older batch, another file, a batch without end, or none at all change nothing."""
    assert resume_from(CHECKPOINT, _batch(end=90)) == CHECKPOINT
    assert resume_from(CHECKPOINT, _batch(end=152, file_id="1-2-g1")) == CHECKPOINT
    assert resume_from(CHECKPOINT, _batch(end=None)) == CHECKPOINT
    assert resume_from(CHECKPOINT, None) == CHECKPOINT
    assert resume_from(None, _batch(end=152)) is None
