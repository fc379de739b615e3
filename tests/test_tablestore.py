from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from faust.types.tuples import TP

from stream.runtime import tablestore
from stream.runtime.heldtable import DELETED
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


async def test_a_tables_cached_writes_reach_rocksdb_at_the_seal_in_their_partitions(
    tmp_path: Path,
) -> None:
    """Through the real table and store: a write is in RocksDB only after the seal, in
    the partition it was written for; a delete removes it there."""
    from tests.test_outbox import Event

    pipeline = build_pipeline(Settings(
        store="rocksdb://", data_dir=tmp_path, web_enabled=False, partitions=4,
    ))

    async def send(*_: object) -> object:
        delivery = asyncio.get_running_loop().create_future()
        return delivery  # never acknowledged: the store does not wait for it

    pipeline.app.producer.send = send  # type: ignore[method-assign, assignment]
    table = pipeline.tables["declaration-state"]
    store = table.data
    table.hold(2, "D-1", {"view": 1})
    table.hold(3, "D-2", {"view": 2})
    assert store._db_for_partition(2).get(b'"D-1"') is None
    await table.outbox.seal([Event("1", [])])
    assert store._db_for_partition(2).get(b'"D-1"') == b'{"view":1}'
    assert store._db_for_partition(3).get(b'"D-2"') == b'{"view":2}'
    assert store._db_for_partition(2).get(b'"D-2"') is None
    table.hold(2, "D-1", DELETED)
    await table.outbox.seal([Event("2", [])])
    assert store._db_for_partition(2).get(b'"D-1"') is None
    for db in store._dbs.values():
        db.close()


def test_partitions_opened_on_request_are_listed(tmp_path: Path) -> None:
    """Faust opens a partition's database when it restores or writes it; one with
    nothing to restore is opened by ``open_partitions`` (the notifier's queues)."""
    pipeline = build_pipeline(Settings(
        store="rocksdb://", data_dir=tmp_path, web_enabled=False, partitions=4,
    ))
    store = pipeline.tables["declaration-state"].data
    assert isinstance(store, tablestore.Store) and not store._dbs
    store.open_partitions({1, 3})
    assert set(store._dbs) == {1, 3}
    for db in store._dbs.values():
        db.close()


def wal_bytes(store: tablestore.Store, partition: int) -> int:
    path = store.partition_path(partition)
    return sum(log.stat().st_size for log in Path(path).glob("*.log"))


def in_memtables(store: tablestore.Store, partition: int) -> int:
    db = store._db_for_partition(partition)
    return int(db.property_int_value("rocksdb.num-entries-active-mem-table") or 0)


def _state_table(tmp_path: Path) -> Any:
    """A RocksDB worker's declaration-state table, its producer never acknowledging."""
    pipeline = build_pipeline(Settings(
        store="rocksdb://", data_dir=tmp_path, web_enabled=False, partitions=4,
    ))

    async def send(*_: object) -> object:
        return asyncio.get_running_loop().create_future()

    pipeline.app.producer.send = send  # type: ignore[method-assign, assignment]
    return pipeline.tables["declaration-state"]


async def test_a_seal_skips_the_write_ahead_log_and_giving_up_a_partition_flushes_it(
    tmp_path: Path,
) -> None:
    """The changelog is the log: a seal's writes go to RocksDB without its write-ahead
    log, and a partition given up (a rebalance) or a stop leaves nothing in memtables
    only, so a clean restart restores only what it missed."""
    from tests.test_outbox import Event

    table = _state_table(tmp_path)
    store = table.data
    assert isinstance(store, tablestore.Store)
    for n in range(200):
        table.hold(n % 2, f"D-{n}", {"view": "x" * 200})
    await table.outbox.seal([Event("1", [])])
    kept = {p: store._db_for_partition(p) for p in (0, 1)}  # as a reader might hold them
    assert wal_bytes(store, 0) == wal_bytes(store, 1) == 0
    assert in_memtables(store, 0) == in_memtables(store, 1) == 100
    changelog = table.changelog_topic.get_topic_name()
    store.revoke_partitions(table, {TP(changelog, 0)})
    assert 0 not in store._dbs and kept[0].property_int_value(
        "rocksdb.num-entries-active-mem-table") == 0
    assert in_memtables(store, 1) == 100  # still its worker's
    await store.stop()
    assert kept[1].property_int_value("rocksdb.num-entries-active-mem-table") == 0
    for db in kept.values():
        db.close()


async def test_giving_up_a_partition_or_stopping_runs_no_full_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flushing first must not keep a database referred to when the store lets go of it:
    one held elsewhere costs a full pass of the collector (Faust fix 11), for every
    table at every rebalance and stop (seven of about 175 ms at a worker's stop, seen)."""
    from tests.test_faust_fixes import _passes
    from tests.test_outbox import Event

    table = _state_table(tmp_path)
    store = table.data
    for n in range(20):
        table.hold(n % 2, f"D-{n}", {"view": "x"})
    await table.outbox.seal([Event("1", [])])
    passes = _passes(monkeypatch)
    store.revoke_partitions(table, {TP(table.changelog_topic.get_topic_name(), 0)})
    await store.stop()
    assert passes == [] and not store._dbs
