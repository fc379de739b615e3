"""Fix 7 of stream.runtime.faust_fixes: RocksDB table partitions restored in bulk.

Faust restores a table record by record: each changelog record is fetched by its
consumer thread, decoded into an event (key and value, which the RocksDB store never
reads), queued, taken off the queue under a timeout, buffered and written. That path
does about 2,300 records a second here (``bench.recovery``: 430 s for a million
declarations). Here, once Faust's recovery knows which changelog partitions it must
read and from where, a plain consumer reads those of the project's RocksDB store
(stream.runtime.tablestore) in large batches straight into RocksDB write batches, with the
offset each store holds, and tells the recovery they are there. Faust then reads only
what came after (nothing, on a quiet changelog); the memory store and standbys are
left to Faust.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

from aiokafka import TopicPartition
from faust.types.tuples import TP

from stream import kafka
from stream.runtime import tablestore

log = logging.getLogger(__name__)
BATCH = 20_000  # records taken from the consumer at once


def _stores(recovery: Any, tps: set[TP], offsets: Mapping[TP, int | None]) -> dict[
    TP, tablestore.Store
]:
    """The active partitions of the project's RocksDB tables that are behind."""
    behind: dict[TP, tablestore.Store] = {}
    for tp in tps:
        table = recovery.tp_to_table.get(tp)
        store = getattr(table, "data", None)
        highwater = recovery.active_highwaters.get(tp)
        held = offsets.get(tp)
        if isinstance(store, tablestore.Store) and highwater is not None and (
            held is None or highwater > held
        ):
            behind[tp] = store
    return behind


async def restore(recovery: Any, tps: set[TP], offsets: MutableMapping[TP, int | None]) -> None:
    """Bring each partition behind up to its highwater; ``offsets`` (Faust's active
    offsets: the last offset each store holds) follow."""
    behind = _stores(recovery, tps, offsets)
    if not behind:
        return
    settings = kafka.configured()
    consumer = kafka.consumer(
        settings.bootstrap_servers, group_id=None, enable_auto_commit=False,
        max_partition_fetch_bytes=settings.max_message_bytes * 3,
    )
    began, records = time.monotonic(), 0
    # Faust gives this step broker_request_timeout; what is not read by two thirds of
    # it is left to Faust's own recovery, from the offsets reached.
    deadline = began + recovery.app.conf.broker_request_timeout * 2 / 3
    await consumer.start()
    try:
        parts = {tp: TopicPartition(tp.topic, tp.partition) for tp in behind}
        consumer.assign(list(parts.values()))
        for tp, part in parts.items():
            held = offsets.get(tp)
            consumer.seek(part, max(held + 1, 0) if held is not None else 0)
        remaining = set(behind)
        while remaining and time.monotonic() < deadline:
            fetched = await consumer.getmany(
                *(parts[tp] for tp in remaining), timeout_ms=500, max_records=BATCH
            )
            for part, batch in fetched.items():
                tp = TP(part.topic, part.partition)
                behind[tp].write_records(tp, batch)
                offsets[tp] = batch[-1].offset
                records += len(batch)
            for tp in list(remaining):
                highwater = recovery.active_highwaters[tp]
                if await consumer.position(parts[tp]) > highwater:
                    # Past the last record (a compacted or transactional log may end on
                    # an offset with no record): the store holds the partition.
                    behind[tp].set_persisted_offset(tp, highwater)
                    offsets[tp] = highwater
                    remaining.discard(tp)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    log.info("restored %d changelog records of %d table partitions in bulk in %.1f s",
             records, len(behind), time.monotonic() - began)
