"""A Faust table with a record cache, whose changelog writes hold back outputs.

Faust writes every ``table[key] = value`` at once: the value serialised for RocksDB and
again for the changelog, a RocksDB put with its write-ahead log, a future and a
changelog record each. An agent that writes a key several times before its work is
sealed (a firm's list of filings, a partition's list of closings, a declaration with
several events in one slice) paid for every write.

Here a write stays in memory until the outbox is sealed (reads see it at once: a read
finds the cache before the store). At the seal each changed key is serialised once, its
last value written once to the changelog (one record per changed key, handed to the
producer a batch per partition: ``stream.runtime.batches``) and, for all of them, one
RocksDB write batch per partition. The outputs sealed with them wait for
those changelog records to be acknowledged (see ``stream.runtime.outbox``).

Keys and values go to the changelog as Faust's ``json`` codec writes them (orjson, with
its options), called directly: Faust's way to it (the topic, the schema, the serializer
registry, the codec) cost more than the serialising.

The offset RocksDB keeps of the changelog it holds is written after the changelog
acknowledges the writes it covers, never before: RocksDB writes without its write-ahead
log (``stream.runtime.tablestore``), and a killed worker's store comes back as it was at
its last flush, an offset with all the data it covers (and maybe more, which the restore
writes again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import faust
import orjson
from faust.utils.json import on_default

from stream.runtime.batches import hand_over
from stream.runtime.outbox import Outbox


class _Deleted:
    """A key deleted since the last seal (its tombstone is written at the seal)."""


DELETED = _Deleted()

# What Faust's ``json`` codec calls (faust.utils.json.dumps; faust-streaming 0.15.3).
_FAUST_JSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
_JSON_SHAPES = (str, dict, list, int, float)  # what the codec serialises as itself


class HeldTable(faust.Table[Any, Any]):
    """A table whose writes wait in a record cache until the seal of ``outbox`` (set by
    the agent that owns the table). Without an outbox it is Faust's table."""

    outbox: Outbox | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # key -> (partition, value or DELETED): written since the last seal
        self._record_cache: dict[Any, tuple[int, Any]] = {}
        self._stored_up_to: dict[Any, int] = {}  # per partition, until the next turn

    # -- reads: the cache, then the store -----------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        """One read: the cache, else the store (Faust's asks the store whether it holds
        the key, then reads it: with RocksDB, two lookups for every ``get``)."""
        cached = self._record_cache.get(key)
        if cached is not None:
            if cached[1] is DELETED:
                return self.__missing__(key)
            return cached[1]
        self.on_key_get(key)
        try:
            return self.data[key]
        except KeyError:
            return self.__missing__(key)

    def __contains__(self, key: object) -> bool:
        cached = self._record_cache.get(key)
        if cached is not None:
            return cached[1] is not DELETED
        return key in self.data

    # -- writes: to the cache, stored at the seal -----------------------------------------

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.outbox is None:
            super().__setitem__(key, value)
            return
        self.hold(self._partition_of(key), key, value)

    def __delitem__(self, key: Any) -> None:
        if self.outbox is None:
            super().__delitem__(key)
            return
        self.hold(self._partition_of(key), key, DELETED)

    def _partition_of(self, key: Any) -> int:
        partition = self.partition_for_key(key)  # the current message's partition
        if partition is None:
            raise RuntimeError(f"table {self.name}: a write outside a partition's message")
        return partition

    def hold(self, partition: int, key: Any, value: Any) -> None:
        """Write ``key`` of ``partition`` (``DELETED`` deletes it) at the next seal."""
        outbox = cast(Outbox, self.outbox)
        if not self._record_cache:
            outbox.changes.append(self._store_cached)
        self._record_cache[key] = (partition, value)

    async def _store_cached(self) -> None:
        """Store what was written since the last seal: each changed key serialised
        once, one RocksDB batch per partition, one changelog record per key, whose
        acknowledgements hold back the outputs sealed with them."""
        cached, self._record_cache = self._record_cache, {}
        outbox = cast(Outbox, self.outbox)
        topic: Any = self.changelog_topic
        records: list[tuple[int, bytes, bytes | None]] = []
        for key, (partition, value) in cached.items():
            raw_key = self._serialised(key, self.key_serializer, topic.prepare_key)
            raw_value: bytes | None = None
            if value is not DELETED:
                raw_value = self._serialised(value, self.value_serializer, topic.prepare_value)
            records.append((partition, cast(bytes, raw_key), raw_value))
        self._put_in_store(cached, records)
        name = self.changelog_topic.get_topic_name()
        for sent in await hand_over(  # a batch per partition (stream.runtime.batches)
            self.app.producer, [(name, key, value, partition, None)
                                for partition, key, value in records]
        ):
            outbox.writes.append(self._written_future(sent.delivery, sent.last_offset))

    @staticmethod
    def _serialised(obj: Any, serializer: Any, prepare: Any) -> bytes | None:
        """``obj`` as the changelog takes it: what Faust's ``json`` codec makes of it,
        made directly; anything else (another codec, bytes, a Faust record) Faust's way."""
        if serializer == "json" and isinstance(obj, _JSON_SHAPES):
            try:  # text keys only (the tables' values): the same bytes, a fifth faster
                return orjson.dumps(obj, default=on_default, option=orjson.OPT_UTC_Z)
            except TypeError:  # a key that is not text: as the codec writes it
                return orjson.dumps(obj, default=on_default, option=_FAUST_JSON)
        raw, _ = prepare(obj, serializer, None, {})
        return cast("bytes | None", raw)

    def _put_in_store(
        self, cached: dict[Any, tuple[int, Any]],
        records: list[tuple[int, bytes, bytes | None]],
    ) -> None:
        write_cached = getattr(self.data, "write_cached", None)
        if write_cached is not None:  # the project's RocksDB store: a batch per partition
            write_cached(records)
            return
        for key, (_, value) in cached.items():  # another store (memory://, in tests)
            if value is DELETED:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    # -- the changelog ------------------------------------------------------------------

    def _written_future(
        self, delivery: asyncio.Future[Any], last_offset: Callable[[], int]
    ) -> asyncio.Future[Any]:
        """A future of the write(s) ``delivery`` stands for, which ends as it does."""
        written: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        delivery.add_done_callback(partial(self._written, written, last_offset))
        return written

    def _written(
        self, written: asyncio.Future[Any], last_offset: Callable[[], int],
        delivery: asyncio.Future[Any],
    ) -> None:
        if delivery.cancelled():
            written.cancel()
        elif delivery.exception() is not None:
            written.set_exception(cast(BaseException, delivery.exception()))
        else:
            metadata = delivery.result()
            written.set_result(metadata)
            if not self.app.in_transaction:  # exactly-once records it at the commit
                self._note_stored(metadata.topic_partition, last_offset())
                return
        # Faust's callback (with fix 5): a lost write stops the worker.
        self._on_changelog_sent(delivery)  # type: ignore[arg-type]

    def _note_stored(self, tp: Any, offset: int) -> None:
        """Note how far the changelog is written. The store records it (RocksDB keeps
        the offset it holds up to, to restore only what follows) once per partition and
        turn of the event loop, not for every write as Faust does: a write to RocksDB
        each. Recorded a moment later, it is only ever behind: a restore reads more."""
        pending = self._stored_up_to
        if not pending:
            asyncio.get_running_loop().call_soon(self._record_stored)
        pending[tp] = max(pending.get(tp, -1), offset)

    def _record_stored(self) -> None:
        pending, self._stored_up_to = self._stored_up_to, {}
        for tp, offset in pending.items():
            self.data.set_persisted_offset(tp, offset)
