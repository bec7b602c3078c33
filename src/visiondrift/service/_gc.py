"""The garbage collector of the service's long-lived processes (server, record writer, window
closers), set once their start-up is done.

A request allocates thousands of short-lived objects (its records); with CPython's default
thresholds that ran a young collection every few hundred allocations and, every so often, a
full one over everything the process holds: pauses of 80 ms under load (the service's p99) and
a tenth of its CPU. What start-up made lives as long as the process and is frozen out of the
collector's sight; young collections run every :data:`YOUNG` allocations.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG", "settle"]

#: Allocations (net of deallocations) between two young collections (CPython's default: 700).
YOUNG = 10_000


def settle() -> None:
    """Freeze what exists now and space the collections out (call at the end of start-up)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, 10, 10)
