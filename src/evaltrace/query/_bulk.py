"""``gc_paused``: the cyclic garbage collector paused over one bulk read."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, then turn it back on if it was on.

    Reading a run back allocates hundreds of thousands of objects (result dicts and the JSON
    values inside them) that all stay alive until the read returns, and none of them in a
    cycle: every collection those allocations trigger walks the growing heap and frees
    nothing (it was ~40 % of a 20,000-result Jaeger read over gRPC). Reference counting still
    frees whatever the read drops; cyclic garbage made meanwhile, by any thread, waits for the
    next full collection (what the read kept is moved to the oldest generation).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                # What the read made and kept is long-lived: into the oldest generation at once
                # (freeze + unfreeze: two list splices), instead of the next young collection
                # walking all of it to free nothing (~30 ms after a 20,000-result read). Not
                # when the application froze objects itself (pre-fork): unfreeze would undo that.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
