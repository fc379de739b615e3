"""Fixes to faust-streaming, applied once before any app is built; one module a fix.

Each fix names the upstream issue it works around and was checked against
``CHECKED_VERSION`` only: on another Faust version the worker refuses to start (set
``CUSTOMS_STREAM_UNCHECKED_FAUST=1`` once ``tests/test_faust_fixes.py`` and the fault
harness have been run on it). Every fix has a test that fails without it.

1. **No message lost to a seek (#596).** Faust's fetch loop runs beside seeks (table
   recovery, the seek to committed offsets after a rebalance), and the consumer's thread
   runs a fetch and a seek at the same time. Records fetched before a seek were handed to
   the streams after it, the read offset jumped past the re-fetched ones, which were
   then dropped as already read ("DROPPED MESSAGE ROFF"), and a record whose delivery
   was cut short by a rebalance still counted as read. Fixed: fetches and seeks take
   turns; each stream partition has a seek epoch, and a record fetched before the last
   seek of its partition is never delivered (the seek fetches it again); a delivery cut
   short leaves the partition waiting for the seek that every rebalance ends with.
2. **Every partition is sought after a rebalance.** ``seek_to_committed`` leaves a
   partition with no committed offset (or offset 0) where the fetcher happens to be;
   such stream partitions are sought to their beginning (``auto_offset_reset`` is
   ``earliest``).
3. **Never commit over a hole (#606).** Faust committed past a single unacknowledged
   offset at the head of a partition (``min(acked) - committed > 1``). With 1, any
   offset the log really skips (transaction markers, retention) is known: the fetch
   loop records the offsets between consecutive records as a gap.
4. **A flush is a flush.** ``ProducerBuffer.flush`` gave up after 0.1 s without
   progress, so changelog writes could trail the commit of the offsets that caused
   them. It now waits until what the buffer held when it began is delivered, and fails
   (no commit) after ``FLUSH_DEADLINE``.
5. **A lost changelog write stops the worker**, like a lost output: the offsets behind
   it must not be committed.
6. **One slow agent does not starve the others (#53).** The fetch loop handed records
   over one at a time, so while the lifecycle agent's queue was full no record reached
   the firms or KPI agents: firm facts came minutes after the declarations they concern,
   and KPIs stood still. Each partition's records of a batch are now delivered by a task
   of their own, in order; the next fetch comes once the batch is handed over.
7. **Tables restored in bulk.** Faust restores a table record by record through its
   consumer thread, a decode it does not need and a queue: about 2,300 records a second.
   Once recovery knows which active changelog partitions to read, those of the
   project's RocksDB store are read in large batches straight into RocksDB
   (``stream/runtime/bulk_restore.py``), and recovery carries on from there.
8. **A record handed over without tasks (robinhood/faust#563).** The fetch loop awaited
   every record's delivery through ``wait_first``: four tasks and three cancellations a
   record, whether or not anything could make it wait. The delivery is now stepped by
   hand, and runs as Faust ran it only when it waits (flow stopped, a queue full).
9. **Every write idempotent, on all in-sync replicas.** Faust enables the idempotent
   producer only inside a transaction; a send retried while a partition's leader moved
   could be written twice or out of order. Its producer now has ``acks="all"``,
   ``enable_idempotence`` and the timeouts of ``stream.kafka.PRODUCER_DELIVERY``.
10. **A partition's slice of a fetch handed over as one item (robinhood/faust#563).**
   Faust hands every record over on its own: a lock, two waits, an Event and a queue
   put in its conductor, then a turn of the loop, sensors and an acknowledgement in
   the agent's stream, most of a bare agent's time. The agents take slices of at most
   ``CUSTOMS_STREAM_SLICE_EVENTS`` records of one partition as one queue item, under
   the same rules (fixes 1 and 3), and take each record as Faust's stream would.
11. **A rebalance runs the collector only when it must.** Faust's RocksDB store ran a
   full ``gc.collect()`` for every table at every rebalance and every stop, to close the
   databases of revoked partitions: seven full passes in a row, each up to a fifth of a
   second. A database the store lets go of is freed (and closed) at once unless
   something else holds it; only then does the collector run.
12. **A changelog not known yet is not a mismatch.** At a table's first write Faust
   compares its changelog's partitions with its source's, as the consumer's metadata
   shows them; a changelog just made may show 0 for a moment, and Faust raised
   ``PartitionsMismatch`` (the worker stopped). It is checked again at the next write.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from stream.runtime.faust_fixes import (
    bulk_restore_hook,
    commit_holes,
    fetch_loop,
    fetch_slices,
    flush,
    idempotent_producer,
    lost_changelog,
    revoke_collects,
    seek_after_rebalance,
    seek_turns,
    unknown_changelog,
)
from stream.runtime.faust_fixes.base import ORIGINAL, fail_stop, faust_original
from stream.runtime.faust_fixes.flush import FlushFailed

__all__ = ["CHECKED_VERSION", "FlushFailed", "apply", "check_version", "fail_stop",
           "faust_original", "patches"]

CHECKED_VERSION = "0.15.3"
FIXES = (seek_turns, seek_after_rebalance, fetch_loop, commit_holes, flush, lost_changelog,
         bulk_restore_hook, idempotent_producer, fetch_slices, revoke_collects,
         unknown_changelog)


def check_version(version: str = faust.__version__) -> None:
    if version != CHECKED_VERSION and os.environ.get("CUSTOMS_STREAM_UNCHECKED_FAUST") != "1":
        raise RuntimeError(
            f"faust-streaming {version} is installed; the project's fixes were checked "
            f"against {CHECKED_VERSION} only (see stream/runtime/faust_fixes/)"
        )


def patches() -> list[tuple[type, str, Any]]:
    """(class, attribute, replacement) for every fix."""
    return [patch for fix in FIXES for patch in fix.PATCHES]


def apply() -> None:
    """Install every fix (idempotent)."""
    if ORIGINAL:
        return
    check_version()
    for owner, name, replacement in patches():
        ORIGINAL[owner, name] = owner.__dict__[name]
        setattr(owner, name, replacement)
