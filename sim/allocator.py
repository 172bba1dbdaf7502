"""Memory of the monthly hot path: glibc allocator settings, and when released models are collected.

Each month allocates many short-lived arrays of 0.1-2 MB. With glibc's default (dynamic)
thresholds, freeing them trims the heap and the next month faults the same pages back in,
zeroed by the kernel: ~130,000 page faults and ~0.3 s of system time per full-scale run, more
when two replications share a machine's memory bandwidth. ../shared/PERFORMANCE.md measured
the same trap. `tune()` keeps freed memory in the process for reuse instead.

Reading and cleaning an SSDA903 return does the same (calibration/ssda903/reader.py tunes too).

It changes a process-wide setting, so it runs once per process, on Linux with glibc only. It
also overrides `MALLOC_TRIM_THRESHOLD_=65536`, which Dask's nanny puts in every worker's
environment and which made replications ~40% slower. `CARESIM_ALLOCATOR=default` leaves the
allocator alone.

A model is a web of reference cycles, and `CareModel.release()` calls `gc.unfreeze()`, which
moves its objects to the oldest generation, which Python collects rarely: without collections a
process grew by ~7 MiB per scale-0.1 replication. A full collection scans every object of the
process (~84,000 after the imports: ~27-35 ms), a cost that a small authority's replication
(~0.2 s) felt. `collect_if_due()` collects at most once a second, counting the collections
Python ran itself, which keeps a worker's memory flat at <= ~4% of its time; and only once a
model has been released since the last one (`note_release`): after a task that released none
(reading a region's returns, say) a full collection found nothing and cost ~40 ms before the
result went back.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import time

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
SETTINGS = {  # bytes
    M_TRIM_THRESHOLD: 256 << 20,  # free memory kept at the top of the heap before returning it
    M_TOP_PAD: 64 << 20,  # extra memory asked for each time the heap grows
    M_MMAP_THRESHOLD: 64 << 20,  # larger blocks get their own mapping (none of the model's)
}
OPT_OUT = "CARESIM_ALLOCATOR"

_done = False
COLLECT_EVERY_S = 1.0  # at most one full garbage collection a second per process
_last_full_collection = -float("inf")  # monotonic time of the last full collection in this process
_released = False  # a model was released since the last full collection


def _note_full_collection(phase: str, info: dict) -> None:
    global _last_full_collection, _released
    if phase == "stop" and info.get("generation") == 2:
        _last_full_collection = time.monotonic()
        _released = False


gc.callbacks.append(_note_full_collection)


def note_release() -> None:
    """A model was released (`CareModel.release`): its cycles wait for a full collection."""
    global _released
    _released = True


def collect_if_due() -> bool:
    """A full garbage collection, if a model was released since the last one and none ran in the
    last `COLLECT_EVERY_S`; True if it ran."""
    if not _released or time.monotonic() - _last_full_collection < COLLECT_EVERY_S:
        return False
    gc.collect()
    return True


def tune() -> bool:
    """Apply SETTINGS once per process; True if they were applied by this call."""
    global _done
    if _done:
        return False
    _done = True
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT) == "default":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return all([mallopt(param, value) == 1 for param, value in SETTINGS.items()])
