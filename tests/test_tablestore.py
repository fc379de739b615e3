from __future__ import annotations

import os
from pathlib import Path

from stream.runtime import tablestore
from stream.settings import Settings
from stream.worker.app import build_pipeline


def test_every_table_partition_shares_the_workers_rocksdb_budget(tmp_path: Path) -> None:
    """Faust's own store gives each table partition a block cache of its own (2 GB) and
    three 64 MB memtables; the worker's tables must share one bounded budget instead."""
    pipeline = build_pipeline(Settings(
        store="rocksdb://", data_dir=tmp_path, web_enabled=False, partitions=4,
    ))
    store = pipeline.tables["declaration-state"].data
    assert isinstance(store, tablestore.Store)
    blocks, memtables = tablestore._budget()
    before = blocks.get_usage()
    for partition in range(4):  # as a worker given four partitions opens them
        db = store._db_for_partition(partition)
        for n in range(2_000):
            db.put(f"{partition}:{n}".encode(), os.urandom(2_000))
    # 16 MB written: the memtables holding it are charged to the one shared cache...
    assert blocks.get_usage() - before > 8 * 1024 * 1024
    assert memtables.get_usage() > 8 * 1024 * 1024
    # ...which caps what RocksDB may hold for all tables of the process.
    assert blocks.get_usage() <= tablestore.BLOCK_CACHE
    options = store.rocksdb_options.as_options()
    assert options is not None
    for db in store._dbs.values():
        db.close()
