"""Building many objects at once without CPython's cyclic GC walking the whole heap again and again meanwhile."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["PAUSE_FROM", "collector_paused"]

#: Batches smaller than this never touch the collector: what it costs them is too little to be worth changing
#: process-wide state for.
PAUSE_FROM = 10_000


@contextlib.contextmanager
def collector_paused(count: int) -> Iterator[None]:
    """Around building ``count`` objects that outlive the call (a list of a million handles): the collector does not
    run inside, and is enabled again after if it was enabled before.

    While a batch of long-lived objects grows, CPython runs a young collection every 700 of them and, each time the
    objects that reached the oldest generation have grown by a quarter, a full one over the whole heap: most of the
    time a large batch takes. Paused, the new objects are visited once, by the first young collection after.

    Process-wide, as `gc.disable` is: other threads do not collect either while a batch is built (for the fraction
    of a second it takes), and a test that disables the collector from another thread at that very moment finds it
    enabled again. Thresholds, generations and frozen objects are left alone, and a collector the caller disabled
    stays disabled. Batches overlapping on two threads end with the collector as the first found it (the later
    one may be built partly unpaused); the emulator builds its batches under its state lock, so its own do not.
    """
    if count < PAUSE_FROM or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
