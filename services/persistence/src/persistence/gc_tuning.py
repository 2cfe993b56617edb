"""Making the cyclic garbage collector run less often in the persistence process.

:func:`tune_gc` makes the collector run less often: every message allocates a dozen objects
that live until their batch is committed, so with the default thresholds the cyclic collector
ran all the time and cost about 15 % of the process's CPU per event (docs/performance.md).
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (20_000, 10, 10)
"""Generation thresholds for :func:`tune_gc` (the interpreter's defaults are 700, 10, 10)."""


def tune_gc() -> None:
    """Freeze what start-up allocated and collect garbage every 20,000 allocations, not 700.

    Almost everything a batch allocates is freed by reference counting when the batch is
    settled; the cyclic collector only finds the odd cycle (exceptions, cancelled futures), so
    running it less often costs little memory. Frozen objects (modules, models, the pool) are
    never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
