"""glibc allocator settings for the monthly hot path.

Each month allocates many short-lived arrays of 0.1-2 MB. With glibc's default (dynamic)
thresholds, freeing them trims the heap and the next month faults the same pages back in,
zeroed by the kernel: ~130,000 page faults and ~0.3 s of system time per full-scale run, more
when two replications share a machine's memory bandwidth. ../shared/PERFORMANCE.md measured
the same trap. `tune()` keeps freed memory in the process for reuse instead.

It changes a process-wide setting, so it runs once per process, on Linux with glibc only. It
also overrides `MALLOC_TRIM_THRESHOLD_=65536`, which Dask's nanny puts in every worker's
environment and which made replications ~40% slower. `CARESIM_ALLOCATOR=default` leaves the
allocator alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
SETTINGS = {  # bytes
    M_TRIM_THRESHOLD: 256 << 20,  # free memory kept at the top of the heap before returning it
    M_TOP_PAD: 64 << 20,  # extra memory asked for each time the heap grows
    M_MMAP_THRESHOLD: 64 << 20,  # larger blocks get their own mapping (none of the model's)
}
OPT_OUT = "CARESIM_ALLOCATOR"

_done = False


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
