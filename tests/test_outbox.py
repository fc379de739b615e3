"""The outbox: a message's outputs leave after its table writes are stored, in order,
and the message is acknowledged (committable) only after its outputs are handed over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stream.runtime import outbox as outbox_module
from stream.runtime.outbox import Outbox, Output


class Event:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def ack(self) -> None:
        self.log.append(f"ack {self.name}")


def output(name: str) -> Output:
    return ("topic", name.encode(), b"{}", None, None)


def recording(log: list[str]) -> Outbox:
    async def send(sent: Output) -> None:
        log.append(f"send {sent[1]!r}")

    return Outbox(send)


def pending() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def handled(box: Outbox, log: list[str], name: str, *writes: asyncio.Future[Any],
                  outputs: tuple[str, ...] = ()) -> None:
    """One message handled: its table writes, its outputs, then the seal."""
    box.writes.extend(writes)
    box.outputs.extend(output(o) for o in outputs)
    await box.seal(Event(name, log))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_outputs_wait_for_the_writes_of_their_message_and_the_ack_for_the_outputs() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("a",))
    await settle()
    assert log == [] and box.held == 1  # the state is not stored yet: nothing leaves
    write.set_result(None)
    await settle()
    assert log == ["send b'a'", "ack 1"] and box.held == 0


async def test_outputs_leave_in_the_order_they_were_made() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("first",))
    await handled(box, log, "2", outputs=("second",))  # no writes, yet it waits its turn
    await settle()
    assert log == []
    write.set_result(None)
    await settle()
    assert log == ["send b'first'", "ack 1", "send b'second'", "ack 2"]


async def test_a_message_without_outputs_is_acknowledged_at_once() -> None:
    log: list[str] = []
    box = recording(log)
    await handled(box, log, "1", pending())  # the commit's flush delivers the write
    assert log == ["ack 1"] and box.writes == []


async def test_stored_writes_let_outputs_leave_at_once() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    write.set_result(None)
    await handled(box, log, "1", write, outputs=("a",))
    assert log == ["send b'a'", "ack 1"]


async def test_a_lost_write_stops_the_worker_before_its_outputs_leave(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    stops: list[str] = []
    monkeypatch.setattr(outbox_module, "fail_stop", stops.append)
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("a",))
    write.set_exception(RuntimeError("changelog down"))
    await settle()
    assert stops and "lost" in stops[0]
    assert "ack 1" not in log


async def test_a_full_outbox_holds_the_handler_back() -> None:
    log: list[str] = []
    box = recording(log)
    box.limit = 2
    write = pending()
    await handled(box, log, "0", write, outputs=("0",))
    box.writes.append(write)
    box.outputs.append(output("1"))
    second = asyncio.ensure_future(box.seal(Event("1", log)))
    await settle()
    assert not second.done()  # two messages wait: the handler waits too
    write.set_result(None)
    await settle()
    assert second.done() and log[-1] == "ack 1"


async def test_messages_are_acknowledged_in_the_order_they_came() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("a",))
    await handled(box, log, "2")  # nothing to send, yet after message 1
    await settle()
    assert log == []
    write.set_result(None)
    await settle()
    assert log == ["send b'a'", "ack 1", "ack 2"]


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
    table.send_changelog(2, "D-1", {"view": 1})
    assert sends == []  # not before the message is done
    table.outbox.outputs.append(output("status"))
    await table.outbox.seal(Event("1", log))
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
    table.send_changelog(1, "D-2", {"view": 2})
    table.outbox.outputs.append(output("status"))
    await table.outbox.seal(Event("2", log))
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
        table.send_changelog(partition, key, {"view": key})
    await table.outbox.seal(Event("1", []))
    for n, (topic, _, _, partition, delivery) in enumerate(sends):
        tp = TopicPartition(topic, partition)
        delivery.set_result(RecordMetadata(topic, partition, tp, 40 + n, -1, 0, 0))
    await settle()
    assert sorted(recorded) == [(2, 41), (3, 42)]  # Faust: one RocksDB write per record


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
