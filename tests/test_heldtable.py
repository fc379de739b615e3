"""A table with a record cache: writes wait in memory until the seal (reads see them),
each changed key is stored once, and its changelog record holds back the outputs sealed
with it."""

from __future__ import annotations

from typing import Any

import pytest

from stream.runtime import outbox as outbox_module
from tests.test_outbox import Event, output, pending, settle


@pytest.fixture
def table_and_sends(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[Any]]:
    """A pipeline's HeldTable whose producer notes each send and returns its delivery."""
    from stream.settings import Settings
    from stream.worker.app import build_pipeline

    pipeline = build_pipeline(Settings(
        web_enabled=False, data_dir=tmp_path, partitions=4, store="memory://"
    ))
    sends: list[Any] = []

    async def send(topic: str, key: Any, value: Any, partition: Any, *_: Any) -> Any:
        delivery = pending()
        sends.append((topic, key, value, partition, delivery))
        return delivery

    monkeypatch.setattr(pipeline.app.producer, "send", send)
    return pipeline.tables["declaration-state"], sends


async def test_a_table_write_is_sent_at_the_seal_and_holds_the_outputs_until_stored(
    table_and_sends: tuple[Any, list[Any]],
) -> None:
    import orjson
    from aiokafka.structs import RecordMetadata, TopicPartition

    table, sends = table_and_sends
    log: list[str] = []
    table.hold(2, "D-1", {"view": 1})
    assert sends == []  # not before the message is done
    table.outbox.outputs.append(output("status"))
    await table.outbox.seal([Event("1", log)])
    ((topic, key, value, partition, delivery),) = sends
    assert topic.endswith("declaration-state-changelog") and partition == 2
    assert orjson.loads(key) == "D-1" and orjson.loads(value) == {"view": 1}
    assert log == []  # the output waits for the write
    tp = TopicPartition(topic, 2)
    delivery.set_result(RecordMetadata(topic, 2, tp, 41, -1, 0, 0))
    await settle()
    assert len(sends) == 2 and sends[1][1] == b"status" and log == ["ack 1"]


async def test_a_table_write_the_broker_refuses_stops_the_worker(
    table_and_sends: tuple[Any, list[Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stream.runtime.faust_fixes import lost_changelog

    table, sends = table_and_sends
    stops: list[str] = []
    monkeypatch.setattr(outbox_module, "fail_stop", stops.append)
    monkeypatch.setattr(lost_changelog, "fail_stop", stops.append)
    log: list[str] = []
    table.hold(1, "D-2", {"view": 2})
    table.outbox.outputs.append(output("status"))
    await table.outbox.seal([Event("2", log)])
    sends[0][4].set_exception(RuntimeError("not enough replicas"))
    await settle()
    assert stops and all("lost" in s for s in stops)
    assert len(sends) == 1 and log == []  # neither the output nor the ack went out


async def test_how_far_the_changelog_is_stored_is_recorded_once_per_partition_and_turn(
    table_and_sends: tuple[Any, list[Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiokafka.structs import RecordMetadata, TopicPartition

    table, sends = table_and_sends
    recorded: list[tuple[int, int]] = []
    monkeypatch.setattr(table.data, "set_persisted_offset",
                        lambda tp, offset: recorded.append((tp.partition, offset)))
    for partition, key in ((2, "D-1"), (2, "D-2"), (3, "D-3")):
        table.hold(partition, key, {"view": key})
    await table.outbox.seal([Event("1", [])])
    for n, (topic, _, _, partition, delivery) in enumerate(sends):
        tp = TopicPartition(topic, partition)
        delivery.set_result(RecordMetadata(topic, partition, tp, 40 + n, -1, 0, 0))
    await settle()
    assert sorted(recorded) == [(2, 41), (3, 42)]  # Faust: one RocksDB write per record


async def test_with_aiokafka_s_producer_a_seal_writes_a_batch_per_partition(
    table_and_sends: tuple[Any, list[Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's path: each partition's changelog records in one batch, the outputs
    after them in batches of their own, and the offset of a batch's last record stored."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.structs import RecordMetadata, TopicPartition

    table, sends = table_and_sends
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9")  # never started
    batches: list[Any] = []

    async def send_batch(builder: Any, topic: str, *, partition: int) -> Any:
        delivery = pending()
        batches.append((topic, partition, builder.record_count(), delivery))
        return delivery

    try:
        monkeypatch.setattr(producer, "send_batch", send_batch)
        monkeypatch.setattr(table.app.producer, "_producer", producer)
        recorded: list[tuple[int, int]] = []
        monkeypatch.setattr(table.data, "set_persisted_offset",
                            lambda tp, offset: recorded.append((tp.partition, offset)))
        for partition, key in ((2, "D-1"), (2, "D-2"), (3, "D-3")):
            table.hold(partition, key, {"view": key})
        log: list[str] = []
        table.outbox.outputs.append(("topic", b"status", b"{}", 1, None))
        await table.outbox.seal([Event("1", log)])
        assert [(t.endswith("-changelog"), p, n) for t, p, n, _ in batches] == [
            (True, 2, 2), (True, 3, 1)]
        assert sends == [] and log == []  # the output waits for the writes
        for topic, partition, _, delivery in batches:
            tp = TopicPartition(topic, partition)
            delivery.set_result(RecordMetadata(topic, partition, tp, 40, -1, 0, 0))
        await settle()
        assert sorted(recorded) == [(2, 41), (3, 40)]  # each batch's last record
        assert batches[2][:3] == ("topic", 1, 1) and log == ["ack 1"]
    finally:
        await producer.stop()


class CountedReads(dict[Any, Any]):
    def __init__(self) -> None:
        super().__init__(held=b'"value"')
        self.reads = 0

    def __contains__(self, key: object) -> bool:
        self.reads += 1
        return super().__contains__(key)

    def __getitem__(self, key: Any) -> Any:
        self.reads += 1
        return super().__getitem__(key)


def test_a_table_read_reads_the_store_once(table_and_sends: tuple[Any, list[Any]]) -> None:
    table, _ = table_and_sends
    store = table._data = CountedReads()
    assert table.get("held") == b'"value"' and store.reads == 1  # Faust: 2
    assert table.get("absent") is None and store.reads == 2
    with pytest.raises(KeyError):
        table["absent"]


async def test_a_write_is_read_back_before_the_seal_and_stored_once_at_it(
    table_and_sends: tuple[Any, list[Any]],
) -> None:
    import orjson

    table, sends = table_and_sends
    table.hold(1, "D-1", {"view": 1})
    table.hold(1, "D-1", {"view": 2})
    table.hold(2, "D-2", {"view": 3})
    assert table["D-1"] == {"view": 2} and table.get("D-2") == {"view": 3}
    assert "D-1" in table and "D-1" not in table.data  # in the cache, not yet stored
    await table.outbox.seal([Event("1", [])])
    assert [(orjson.loads(key), orjson.loads(value), partition)
            for _, key, value, partition, _ in sends] == [
        ("D-1", {"view": 2}, 1), ("D-2", {"view": 3}, 2),
    ]  # one changelog record per changed key: its last value
    assert table.data["D-1"] == {"view": 2} and table["D-1"] == {"view": 2}


async def test_a_delete_hides_the_key_at_once_and_writes_a_tombstone_at_the_seal(
    table_and_sends: tuple[Any, list[Any]],
) -> None:
    from stream.runtime.heldtable import DELETED

    table, sends = table_and_sends
    table.data["D-1"] = {"view": 1}
    table.hold(3, "D-1", DELETED)
    assert "D-1" not in table and table.get("D-1") is None
    assert table.data["D-1"] == {"view": 1}  # stored until the seal
    await table.outbox.seal([Event("1", [])])
    ((_, _, value, partition, _),) = sends
    assert value is None and partition == 3 and "D-1" not in table.data


# Shapes the tables hold: a declaration's state (nested, floats, unicode), lists, numbers.
STORED = [
    ("310020260000000142", {"id": "310020260000000142", "events": [{"lines": [
        {"value_usd": 84720.59, "quantity": 604, "description": "铸铁泵壳"}]}],
        "clearance": ["CNNGB", "GREEN", 50.25], "view": None, "sequence": 3}),
    ("91198175FYQ2PQX4CJ", ["310020260000000142", "310020260000000143"]),
    ("CNNGB|GREEN", 17),
    ("2026-05-09", 0.5),
    # Keys that are not text, which the fast path refuses and Faust's codec writes.
    ("by-number", {"counts": {1: "one", 2: ["two"]}, "at": {"UTC": True}}),
]


def test_each_table_writes_to_its_changelog_the_bytes_faust_would(tmp_path: Any) -> None:
    from stream.settings import Settings
    from stream.worker.app import build_pipeline

    pipeline = build_pipeline(Settings(
        web_enabled=False, data_dir=tmp_path, partitions=4, store="memory://"
    ))
    assert len(pipeline.tables) >= 5
    for table in pipeline.tables.values():
        topic = table.changelog_topic
        for key, value in STORED:
            faust_key, _ = topic.prepare_key(key, table.key_serializer, None, {})
            faust_value, _ = topic.prepare_value(value, table.value_serializer, None, {})
            assert table._serialised(key, table.key_serializer, topic.prepare_key) == faust_key
            assert table._serialised(
                value, table.value_serializer, topic.prepare_value) == faust_value


async def test_the_seal_serialises_without_faust_s_layers(
    table_and_sends: tuple[Any, list[Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    table, sends = table_and_sends

    def refused(*_: Any, **__: Any) -> Any:
        raise AssertionError("serialised through Faust's topic, schema and registry")

    monkeypatch.setattr(table.changelog_topic, "prepare_key", refused)
    monkeypatch.setattr(table.changelog_topic, "prepare_value", refused)
    for key, value in STORED:
        table.hold(1, key, value)
    await table.outbox.seal([Event("1", [])])
    assert len(sends) == len(STORED)
