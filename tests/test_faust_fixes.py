"""Each Faust fix in ``stream.runtime.faust_fixes`` against the behaviour it replaces.

Where Faust's own code can run on the same inputs, the test shows it misbehaving too:
the day an upstream release fixes it, that assertion fails and the fix can go.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.cluster import ClusterMetadata
from aiokafka.protocol.metadata import MetadataResponse_v1
from faust.exceptions import PartitionsMismatch
from faust.stores.rocksdb import Store
from faust.tables.base import Collection
from faust.transport.producer import ProducerBuffer
from faust.types.tuples import TP
from intervaltree import IntervalTree

from stream.runtime import faust_fixes
from stream.runtime.faust_fixes import (
    FlushFailed,
    faust_original,
    flush,
    lost_changelog,
    seek_turns,
)
from stream.runtime.faust_fixes.base import Consumer
from stream.runtime.faust_fixes.commit_holes import _new_offset
from stream.runtime.faust_fixes.fetch_loop import _deliver_stream_record
from stream.runtime.faust_fixes.flush import _flush_atmost
from stream.runtime.faust_fixes.lost_changelog import _on_changelog_sent, producer_view
from stream.runtime.faust_fixes.revoke_collects import revoke_partitions, stop
from stream.runtime.faust_fixes.seek_after_rebalance import _perform_seek
from stream.runtime.faust_fixes.seek_turns import _FetchState
from stream.runtime.faust_fixes.unknown_changelog import _verify_source_topic_partitions

INPUT = TP("declarations", 0)
CHANGELOG = TP("app-declaration-state-changelog", 0)


def consumer_with(acked: list[int], committed: int | None) -> Any:
    return SimpleNamespace(
        _acked=defaultdict(list, {INPUT: list(acked)}),
        _acked_index=defaultdict(set, {INPUT: set(acked)}),
        _committed_offset=defaultdict(lambda: None, {INPUT: committed}),
        _gap=defaultdict(IntervalTree),
    )


# -- never commit over a hole (#606) ----------------------------------------------------------

def test_a_single_missing_offset_at_the_head_blocks_the_commit() -> None:
    # Offset 10 was never handled: committing 13 would skip it for good.
    assert faust_original(Consumer, "_new_offset")(consumer_with([11, 12], 10), INPUT) == 13
    assert _new_offset(consumer_with([11, 12], 10), INPUT) is None


def test_contiguous_acks_and_known_gaps_commit() -> None:
    assert _new_offset(consumer_with([10, 11, 12], 10), INPUT) == 13
    skipped = consumer_with([12, 13], 10)
    skipped._gap[INPUT].addi(10, 12)  # offsets the log does not hold (markers)
    assert _new_offset(skipped, INPUT) == 14


# -- a flush drains the buffer --------------------------------------------------------------

class SlowBuffer:
    """A producer buffer whose pending messages take ``seconds`` each to be delivered."""

    state = "running"

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds
        self.pending: asyncio.Queue[asyncio.Future[Any]] = asyncio.Queue()
        self.message_sent = asyncio.Event()
        self.add()

    @property
    def size(self) -> int:
        return self.pending.qsize()

    def add(self) -> asyncio.Future[Any]:
        message = asyncio.get_running_loop().create_future()
        self.pending.put_nowait(message)
        return message

    async def deliver(self, forever: bool = False) -> None:
        """Deliver in order; ``forever``: a handler adds a message for each one sent."""
        while self.size:
            await asyncio.sleep(self.seconds)
            self.pending.get_nowait().set_result(None)
            self.message_sent.set()
            if forever:
                self.add()


async def test_flush_waits_until_the_buffer_is_empty() -> None:
    faust_buffer = SlowBuffer()
    later = asyncio.create_task(faust_buffer.deliver())
    await faust_original(ProducerBuffer, "flush_atmost")(faust_buffer, None)
    assert faust_buffer.size == 1  # Faust gave up after 0.1 s: the commit would follow
    await later
    buffer = SlowBuffer()
    later = asyncio.create_task(buffer.deliver())
    assert await _flush_atmost(buffer, None) == 1
    assert buffer.size == 0
    await later


async def test_a_flush_ends_while_handlers_keep_writing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flush, "FLUSH_DEADLINE", 1.0)
    buffer = SlowBuffer(seconds=0.05)
    for _ in range(4):
        buffer.add()
    writer = asyncio.create_task(buffer.deliver(forever=True))
    assert await _flush_atmost(buffer, None) == 5  # what was there when it began
    assert buffer.size == 5  # what came meanwhile waits for the next flush
    writer.cancel()


async def test_a_flush_that_cannot_finish_refuses_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flush, "FLUSH_DEADLINE", 0.3)
    with pytest.raises(FlushFailed, match="not drained"):
        await _flush_atmost(SlowBuffer(), None)


# -- a lost changelog write stops the worker ------------------------------------------------

def test_a_lost_changelog_write_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    stops: list[str] = []
    monkeypatch.setattr(lost_changelog, "fail_stop", stops.append)
    lost: asyncio.Future[Any] = asyncio.new_event_loop().create_future()
    lost.set_exception(TimeoutError("no broker"))
    table = SimpleNamespace(name="declaration-state")
    with pytest.raises(TimeoutError):  # Faust raises in a callback: logged, then ignored
        faust_original(Collection, "_on_changelog_sent")(table, lost)
    _on_changelog_sent(table, lost)
    assert stops and "declaration-state" in stops[0]
    assert "metadata could not be read" in stops[0]  # a table without an app


def test_a_lost_changelog_write_says_what_the_producer_knows_of_its_changelog() -> None:
    cluster = ClusterMetadata()
    topic = "app-declaration-state-changelog"
    producer = SimpleNamespace(_producer=SimpleNamespace(client=SimpleNamespace(cluster=cluster)))
    table = SimpleNamespace(changelog_topic_name=topic, app=SimpleNamespace(producer=producer))
    assert producer_view(table) == f"the producer's metadata does not show {topic}"
    brokers = [(1, "localhost", 9092, None)]
    partitions = [(0, 0, 1, [1], [1]), (0, 1, -1, [1], [])]
    cluster.update_metadata(MetadataResponse_v1(brokers, 1, [(0, topic, False, partitions)]))
    assert producer_view(table) == (
        f"the producer's metadata shows {topic} with leaders {{0: 1, 1: -1}}"
    )


# -- records from before a seek are never delivered (#596) ----------------------------------

class FetchLoop:
    """What the fetch loop reads of a consumer, with a callback that records deliveries."""

    def __init__(self, batch_epochs: dict[TP, int], suspended: bool = False) -> None:
        self._cs_batch_epochs = batch_epochs
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._read_offset: dict[TP, int | None] = {}
        self._commit_every = None
        self._n_acked = 0
        # No channel here takes slices (fix 10): records are handed over one at a time.
        self.app = SimpleNamespace(topics=SimpleNamespace(_tp_index={}))
        self.suspend_flow = asyncio.Event()
        if suspended:
            self.suspend_flow.set()
        self.delivered: list[int] = []
        self.blocked = suspended
        self.waits = 0  # deliveries awaited through wait_first
        self.abandoned: list[int] = []  # deliveries cancelled while they waited
        self.cancelled = asyncio.Event()  # set when a waiting delivery was cancelled

    async def callback(self, message: Any) -> None:
        if self.blocked:
            try:
                await asyncio.Event().wait()  # the flow is stopped: the queue never takes it
            except asyncio.CancelledError:
                self.abandoned.append(message.offset)
                self.cancelled.set()
                raise
        self.delivered.append(message.offset)

    async def wait_first(self, *coros: Any) -> Any:
        self.waits += 1
        futures = {asyncio.ensure_future(c): c for c in coros}
        done, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()
        for future in done:
            future.result()  # as mode's wait_first: a failure propagates
        return SimpleNamespace(done=[futures[f] for f in done])


def record(offset: int) -> Any:
    return SimpleNamespace(offset=offset, topic=INPUT.topic)


async def deliver(loop: FetchLoop, state: _FetchState, *offsets: int) -> None:
    for offset in offsets:
        fetched_in = loop._cs_batch_epochs[INPUT]
        await _deliver_stream_record(loop, state, INPUT, record(offset), loop.callback,
                                     fetched_in)


async def test_records_fetched_before_a_seek_are_not_delivered() -> None:
    state = _FetchState()
    loop = FetchLoop(batch_epochs={INPUT: 0})
    await deliver(loop, state, 5)
    state.sought(INPUT, 3)  # the rebalance ends: back to the committed offset 3
    await deliver(loop, state, 6, 7)  # the rest of the batch fetched before the seek
    assert loop.delivered == [5]
    loop._cs_batch_epochs = {INPUT: 1}  # fetched after the seek
    await deliver(loop, state, 3, 4, 5, 6)
    assert loop.delivered == [5, 3, 4, 5, 6]


async def test_offsets_in_order_repeats_dropped_and_skipped_offsets_noted_as_gaps() -> None:
    state = _FetchState()
    state.sought(INPUT, 10)
    loop = FetchLoop(batch_epochs={INPUT: 1})
    await deliver(loop, state, 10, 10, 13)
    assert loop.delivered == [10, 13]
    assert [(i.begin, i.end) for i in loop._gap[INPUT]] == [(11, 13)]


async def test_a_delivery_cut_short_holds_the_partition_until_the_next_seek() -> None:
    state = _FetchState()
    loop = FetchLoop(batch_epochs={INPUT: 0}, suspended=True)
    await deliver(loop, state, 4)
    assert INPUT in state.cut_short
    await asyncio.wait_for(loop.cancelled.wait(), 5)  # it reaches the waiting delivery
    assert loop.abandoned == [4]  # cancelled where it waited, not left behind
    loop.blocked = False
    await deliver(loop, state, 5)  # same batch, later offset: held back, not a gap
    assert loop.delivered == [] and not loop._gap[INPUT]
    state.sought(INPUT, 4)
    loop._cs_batch_epochs = {INPUT: 1}
    loop.suspend_flow.clear()
    await deliver(loop, state, 4, 5)
    assert loop.delivered == [4, 5]


# -- every stream partition is sought after a rebalance ------------------------------------

class SeekingThread:
    def __init__(self, committed: dict[TP, int | None]) -> None:
        self.committed = committed
        self.to_beginning: list[TP] = []

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return self.committed

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.to_beginning.extend(partitions)


async def test_partitions_never_committed_are_sought_to_their_beginning() -> None:
    never, at_zero, at_five = TP("declarations", 1), TP("declarations", 2), INPUT
    thread = SeekingThread({at_five: 5, never: None, at_zero: 0, CHANGELOG: None})
    consumer = SimpleNamespace(
        _thread=thread, _read_offset={}, _committed_offset={},
        _is_changelog_tp=lambda tp: tp == CHANGELOG,
    )
    await _perform_seek(consumer)
    assert sorted(thread.to_beginning) == sorted([never, at_zero])  # not the changelog
    assert consumer._committed_offset == {at_five: 5, at_zero: 0}
    state = seek_turns._state(consumer)
    assert state.next == {at_five: 5} and set(state.epochs) == {at_five, never, at_zero}


def test_another_faust_version_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"checked against 0\.15\.3"):
        faust_fixes.check_version("0.16.0")
    faust_fixes.check_version(faust_fixes.CHECKED_VERSION)


# -- one agent's full queue holds back only its own partitions ------------------------------

FIRMS = TP("firms", 0)


class TwoAgents(FetchLoop):
    """The lifecycle's queue is full (its callback waits) while the firms agent's is not."""

    def __init__(self) -> None:
        super().__init__(batch_epochs={INPUT: 0, FIRMS: 0})
        self.lifecycle_full = asyncio.Event()
        self.lifecycle_waits = asyncio.Event()  # a lifecycle record waits for room
        self.firms_got = asyncio.Event()
        self.got: list[tuple[str, int]] = []

    async def callback(self, message: Any) -> None:
        if message.topic == INPUT.topic and not self.lifecycle_full.is_set():
            self.lifecycle_waits.set()
            await self.lifecycle_full.wait()
        self.got.append((message.topic, message.offset))
        if message.topic == FIRMS.topic:
            self.firms_got.set()


async def test_a_full_queue_holds_back_only_its_own_partitions() -> None:
    from stream.runtime.faust_fixes.fetch_loop import _deliver_batch
    from stream.runtime.faust_fixes.seek_turns import _state

    loop = TwoAgents()
    state = _state(loop)
    lifecycle = [SimpleNamespace(offset=n, topic=INPUT.topic) for n in (0, 1, 2)]
    firms = [SimpleNamespace(offset=7, topic=FIRMS.topic)]
    batch = asyncio.ensure_future(
        _deliver_batch(loop, state, {INPUT: lifecycle, FIRMS: firms}, loop.callback, {})
    )
    await asyncio.wait_for(asyncio.gather(loop.firms_got.wait(), loop.lifecycle_waits.wait()), 5)
    assert loop.got == [("firms", 7)]  # delivered while the lifecycle's queue is full
    assert not batch.done()  # the lifecycle's records are still on their way
    loop.lifecycle_full.set()
    await batch
    assert loop.got == [("firms", 7), ("declarations", 0), ("declarations", 1),
                        ("declarations", 2)]


async def test_a_delivery_that_fails_fails_the_fetch_loop() -> None:
    from stream.runtime.faust_fixes.fetch_loop import _deliver_batch
    from stream.runtime.faust_fixes.seek_turns import _state

    loop = FetchLoop(batch_epochs={INPUT: 0})
    state = _state(loop)

    async def broken(message: Any) -> None:
        raise RuntimeError("queue closed")

    with pytest.raises(RuntimeError, match="queue closed"):
        await _deliver_batch(loop, state, {INPUT: [record(0)]}, broken, {})


# -- a record handed over without tasks when nothing makes it wait -------------------------

async def test_a_delivery_that_need_not_wait_is_made_without_tasks() -> None:
    state = _FetchState()
    loop = FetchLoop(batch_epochs={INPUT: 0})
    await deliver(loop, state, 0, 1, 2)
    assert loop.delivered == [0, 1, 2]
    assert loop.waits == 0  # Faust's way: one wait_first (four tasks) a record


async def test_a_delivery_that_waits_goes_on_where_it_waited() -> None:
    state = _FetchState()
    loop = TwoAgents()  # the lifecycle's queue is full until the event is set
    delivery = asyncio.ensure_future(deliver(loop, state, 0, 1))
    await asyncio.wait_for(loop.lifecycle_waits.wait(), 5)
    assert loop.got == [] and loop.waits == 1
    loop.lifecycle_full.set()
    await delivery
    assert loop.got == [("declarations", 0), ("declarations", 1)]
    assert loop.waits == 1  # the second found room: no wait


# -- every fix is installed when a worker is built --------------------------------------------

async def test_building_a_worker_installs_every_fix(tmp_path: Any) -> None:
    import pkgutil

    from stream.runtime.faust_fixes import fetch_loop, handover
    from stream.settings import Settings
    from stream.worker.app import build_pipeline

    build_pipeline(Settings(web_enabled=False, data_dir=tmp_path, store="memory://"))
    installed = faust_fixes.patches()
    # ten modules patch (fixes 8 and 10 run in the fetch loop, patching nothing of their
    # own); fix 1 patches three attributes, fix 11 two
    assert len(installed) == 13
    for owner, name, replacement in installed:
        assert owner.__dict__[name] is replacement, f"{owner.__name__}.{name} is Faust's own"
    # One module per fix, each in the list that apply() installs.
    modules = {m.name for m in pkgutil.iter_modules(faust_fixes.__path__)}
    assert modules - {"base", "handover"} == {
        fix.__name__.rsplit(".", 1)[1] for fix in faust_fixes.FIXES}
    assert vars(fetch_loop)["_deliver"] is handover._deliver  # fix 8 runs in the fetch loop


# -- fix 9: the worker's producer is idempotent and waits for every in-sync replica ----------

async def test_the_workers_producer_is_idempotent_with_acks_all(tmp_path: Any) -> None:
    from stream.runtime.app import faust_app
    from stream.settings import Settings

    faust_fixes.apply()  # as building a worker does
    app = faust_app(Settings(web_enabled=False, data_dir=tmp_path, store="memory://"))
    producer: Any = app.producer  # the aiokafka driver's Producer
    made = producer._new_producer()  # what aiokafka is given, as the worker starts it
    try:
        assert made._txn_manager is not None  # aiokafka's idempotence bookkeeping
        assert made.client._request_timeout_ms == 40_000  # longer than a leader election
    finally:
        await made.stop()
    assert {"acks": "all", "enable_idempotence": True}.items() <= producer._settings_extra().items()


# -- fix 11: a rebalance runs the collector only when a revoked database is held elsewhere ---

class _Database:
    """Stands for a partition's RocksDB database (closed when freed)."""


def _store(dbs: dict[int, Any]) -> Any:
    return SimpleNamespace(_dbs=dbs, logger=SimpleNamespace(info=lambda *_: None))


def _passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The full passes of the collector from now on (Faust's store and the fix call
    ``gc.collect``)."""
    passes: list[int] = []
    collect = gc.collect

    def counted() -> int:
        passes.append(1)
        return collect()

    monkeypatch.setattr(gc, "collect", counted)
    return passes


def _revoke(revoke: Any, dbs: dict[int, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """Revoke partition 0 of a table's changelog; how many full passes it ran."""
    passes = _passes(monkeypatch)
    table = SimpleNamespace(changelog_topic=SimpleNamespace(topics={CHANGELOG.topic}))
    revoke(_store(dbs), table, {CHANGELOG})
    return len(passes)


def test_a_rebalance_that_frees_its_databases_runs_no_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = _Database()
    closed = weakref.ref(db)
    dbs = {0: db}
    del db
    assert _revoke(revoke_partitions, dbs, monkeypatch) == 0
    assert closed() is None and not dbs  # let go of, and freed at once
    assert _revoke(revoke_partitions, {}, monkeypatch) == 0  # nothing revoked
    # Faust's own: a full pass for every table at every rebalance, whatever it revoked
    assert _revoke(faust_original(Store, "revoke_partitions"), {}, monkeypatch) == 1


def test_a_revoked_database_held_by_a_cycle_is_collected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db: Any = _Database()
    db.itself = db  # a cycle: only the collector frees it
    closed = weakref.ref(db)
    dbs = {0: db}
    del db
    assert _revoke(revoke_partitions, dbs, monkeypatch) == 1
    assert closed() is None


async def test_a_stop_runs_the_collector_only_for_a_database_held_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    freed, cycled = _Database(), _Database()
    cycled.itself = cycled  # type: ignore[attr-defined]
    gone = [weakref.ref(freed), weakref.ref(cycled)]
    alone, in_a_cycle = {0: freed}, {1: cycled}
    del freed, cycled
    passes = _passes(monkeypatch)
    await stop(_store(alone))
    assert len(passes) == 0 and gone[0]() is None and not alone
    await stop(_store(in_a_cycle))
    assert len(passes) == 1 and gone[1]() is None
    await faust_original(Store, "stop")(_store({}))  # Faust's own: a pass, always
    assert len(passes) == 2


# -- fix 12: a changelog the consumer's metadata does not know yet is not a mismatch ---------

def _table(partitions: dict[str, int | None]) -> Any:
    consumer = SimpleNamespace(topic_partitions=partitions.get)
    return SimpleNamespace(
        _verified_source_topics_for_partitions=set(), changelog_topic_name=CHANGELOG.topic,
        app=SimpleNamespace(consumer=consumer), name="declaration-state",
    )


def test_a_changelog_shown_with_no_partitions_is_checked_again_later() -> None:
    just_made = _table({INPUT.topic: 4, CHANGELOG.topic: 0})
    _verify_source_topic_partitions(just_made, INPUT.topic)
    assert not just_made._verified_source_topics_for_partitions  # not yet known
    with pytest.raises(PartitionsMismatch):  # Faust's own: the worker stopped
        faust_original(Collection, "_verify_source_topic_partitions")(just_made, INPUT.topic)
    known = _table({INPUT.topic: 4, CHANGELOG.topic: 4})
    _verify_source_topic_partitions(known, INPUT.topic)
    assert known._verified_source_topics_for_partitions == {INPUT.topic}
    with pytest.raises(PartitionsMismatch):  # a real mismatch still stops the worker
        _verify_source_topic_partitions(_table({INPUT.topic: 4, CHANGELOG.topic: 2}),
                                        INPUT.topic)
