"""What the process runs on: the cores it may use, and memory handed back to the system.

One place for the few things that touch the process rather than the data, so
that no stage reads the machine on its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def release_free_memory() -> None:
    """Hand memory that was freed back to the operating system, where the C library can.

    glibc keeps freed blocks in its heap for reuse; after a chunk of ten
    million events has been turned into features, most of it is free but still
    counted in the process's resident memory, and the next chunk's arrays do
    not always fit the holes. ``malloc_trim`` returns it (the remedy Dask
    documents for the same symptom). Elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
