"""Faust's RocksDB tables under one memory budget per worker.

Faust opens one RocksDB per table and partition, and gives each its own block cache
(2 GB by default) and up to three 64 MB memtables. A worker with six tables over four
partitions may so hold gigabytes, more the more data it has read and the more partitions
it is given. Here every table of the process shares one block cache, and the memtables
are charged to it through one write-buffer manager: RocksDB's memory in a worker is
bounded by ``BLOCK_CACHE``, whatever the number of tables, partitions or declarations.

Its writes skip RocksDB's write-ahead log, as Kafka Streams' do: the changelog is the
log. A worker killed loses what its memtables held since their last flush, the offset it
had stored up to included, and restores from the changelog whatever follows the offset
that survived. That offset is never ahead of the data that survived: RocksDB without its
log comes back as it was at a flush, a prefix of the writes in their order, and the
offset is written after the data it covers (``HeldTable._note_stored``, once the changelog
acknowledged it). A partition given up, or the worker stopping, flushes its memtables
first, so a clean restart restores only what it missed (Faust's store never closes its
databases: it drops them).

``register()`` makes ``rocksdb://`` (the ``store`` setting) name this store; it is Faust's
RocksDB store (faust-streaming 0.15.3) with other options, nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, MutableMapping
from functools import cache
from typing import Any

from faust.stores import STORES
from faust.stores import rocksdb as faust_rocksdb
from rocksdict import (
    BlockBasedIndexType,
    BlockBasedOptions,
    Cache,
    Options,
    WriteBatch,
    WriteBufferManager,
    WriteOptions,
)

BLOCK_CACHE = 128 * 1024 * 1024  # all of the worker's tables: blocks read and memtables
MEMTABLES = 64 * 1024 * 1024  # of which memtables may take this much
MEMTABLE = 16 * 1024 * 1024  # one memtable of one table partition, two at most


@cache
def _budget() -> tuple[Cache, WriteBufferManager]:
    """The process's block cache, and the manager that charges memtables to it."""
    blocks = Cache(BLOCK_CACHE)
    return blocks, WriteBufferManager.new_write_buffer_manager_with_cache(
        MEMTABLES, False, blocks
    )


class BudgetOptions(faust_rocksdb.RocksDBOptions):
    def as_options(self) -> Options:
        blocks, memtables = _budget()
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        if self.max_open_files is not None:
            options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(MEMTABLE)
        options.set_max_write_buffer_number(2)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_write_buffer_manager(memtables)
        table = BlockBasedOptions()
        # Most reads while a declaration is new find nothing: a bloom filter answers them.
        table.set_bloom_filter(10, False)
        table.set_block_cache(blocks)
        table.set_index_type(BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


def _without_log() -> WriteOptions:
    options = WriteOptions()
    # A property, whatever rocksdict's stub says (a method).
    options.disable_wal = True  # type: ignore[method-assign, assignment]
    return options


class Store(faust_rocksdb.Store):
    """Faust's RocksDB store (rocksdict driver) with the process's memory budget, its
    writes without RocksDB's write-ahead log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use_rocksdict = True
        self.rocksdb_options = BudgetOptions(**(self.options or {}), use_rocksdict=True)

    def _open_for_partition(self, partition: int) -> Any:
        db = super()._open_for_partition(partition)
        db.set_write_options(_without_log())
        return db

    def revoke_partitions(self, table: Any, tps: Any) -> None:
        _flush(self._dbs, {tp.partition for tp in tps if tp.topic in table.changelog_topic.topics})
        super().revoke_partitions(table, tps)

    async def stop(self) -> None:
        _flush(self._dbs, list(self._dbs))
        await super().stop()

    def write_cached(self, records: list[tuple[int, bytes, bytes | None]]) -> None:
        """A table's writes since its last seal, (partition, key, value or None to
        delete), in one RocksDB write per partition."""
        by_partition: dict[int, list[tuple[bytes, bytes | None]]] = defaultdict(list)
        for partition, key, value in records:
            by_partition[partition].append((key, value))
            if value is None:
                self._key_index.pop(key, None)
            else:
                self._key_index[key] = partition
        for partition, writes in by_partition.items():
            self._db_for_partition(partition).write(_batch(writes))

    def open_partitions(self, partitions: Iterable[int]) -> None:
        """Open the databases of these partitions: Faust lists (``items()``) only the
        partitions it has opened, and one with nothing to restore after a restart was
        not (the notifier then did not see its queues; bench.webhooks)."""
        for partition in partitions:
            self._db_for_partition(partition)

    def write_records(self, tp: Any, records: list[Any]) -> None:
        """Changelog records of one partition, in one write, as Faust's
        ``apply_changelog_batch`` writes them (a null value deletes)."""
        self._db_for_partition(tp.partition).write(_batch((r.key, r.value) for r in records))
        self.set_persisted_offset(tp, records[-1].offset)


def _flush(dbs: MutableMapping[int, Any], partitions: Iterable[int]) -> None:
    """Flush these partitions' memtables. Apart from the store's methods, so that no
    name still holds a database when the store lets go of it: one held elsewhere costs a
    full pass of the collector (Faust fix 11), one per table at every rebalance."""
    for partition in partitions:
        if partition in dbs:
            dbs[partition].flush()


def _batch(writes: Iterable[tuple[bytes, bytes | None]]) -> WriteBatch:
    """One RocksDB write of (key, value) pairs; a None value deletes the key."""
    batch = WriteBatch(raw_mode=True)
    for key, value in writes:
        if value is None:
            batch.delete(key)
        else:
            batch.put(key, value)
    return batch


def register() -> None:
    STORES.aliases["rocksdb"] = f"{__name__}:Store"
