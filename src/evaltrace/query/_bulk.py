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
    next collection after the read.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
