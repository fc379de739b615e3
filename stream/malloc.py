"""At most two malloc arenas in a worker or replica process.

glibc gives each thread that allocates an arena of its own, 64 MB at a time, and keeps
what it frees there. RocksDB's background threads (flushes, compactions) and the Kafka
client's thread so left a worker recovering its tables from the changelog holding
arenas of 64 MB, fully resident, that grew with the records read (measured with
``bench.recovery``). ``MALLOC_ARENA_MAX`` is the usual remedy; it is set here through
``mallopt`` as the process starts, before any thread exists, so that no launcher has to
remember it. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_arenas() -> bool:
    """True when the limit is in force."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):
        return False
