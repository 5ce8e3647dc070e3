"""Help for the bulk paths (imports): pausing Python's cyclic garbage collector.

A chunk of an import builds tens of thousands of short-lived containers (rows,
requests, events); none of them form reference cycles, so reference counting frees
them, but their number alone triggers the cyclic collector over and over, and each
full pass walks every object the process holds (measured: a tenth of an import's
CPU time). While any thread is inside :func:`collection_paused` the collector is
off; it is switched back on (if it was on before the first) when the last one
leaves. Nothing is kept from collection: cycles made meanwhile are collected then.

It is process-wide, so it is held for one chunk at a time (a fraction of a second),
not a whole import: between chunks the collector is on, and the allocations of the
next chunk's first rows start a collection, so another thread's cyclic garbage waits
at most one chunk. (A campaign scan, one long pass, leaves it on: see
``storage.fastpath.StateReader.scan_table``.)
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (re-entrant, thread-safe)."""
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
