"""The read model on disk: the highest sequence stands, buyers' indexes, counts, and a
checkpoint stored with the state it covers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import TopicPartition

from stream.read.feed import ReadModelFeed
from stream.read.readstore import ReadStore
from stream.topics import Topology


def update(declaration_id: str, sequence: int, status: str, buyer: str | None) -> dict[str, Any]:
    return {"declaration_id": declaration_id, "sequence": sequence, "status": status,
            "buyer_id": buyer}


def ids(found: tuple[int, list[dict[str, Any]]]) -> tuple[int, list[str]]:
    return found[0], [s["declaration_id"] for s in found[1]]


def test_the_highest_sequence_stands(tmp_path: Path) -> None:
    read_model = ReadStore(tmp_path)
    read_model.apply_status(update("1", 2, "RELEASED", "b1"))
    read_model.apply_status(update("1", 1, "ACCEPTED", "b1"))  # read late
    read_model.commit({})
    status = read_model.status("1")
    assert status is not None and status["status"] == "RELEASED"
    assert read_model.open_count() == 1 and read_model.total() == 1
    read_model.apply_status(update("1", 3, "DEPARTED", "b1"))
    assert read_model.open_count() == 0 and read_model.status_counts() == {"DEPARTED": 1}


def test_buyers_index_filters_and_pages(tmp_path: Path) -> None:
    read_model = ReadStore(tmp_path)
    read_model.apply_status(update("2", 1, "AWAITING_DECLARATION", None))
    read_model.apply_status(update("2", 2, "ACCEPTED", "b1"))
    read_model.apply_status(update("1", 1, "RELEASED", "b1"))
    read_model.apply_status(update("3", 1, "ACCEPTED", "b2"))
    read_model.apply_status(update("4", 1, "ACCEPTED", "b1"))
    read_model.commit({})
    assert ids(read_model.declarations_of("b1")) == (3, ["1", "2", "4"])
    assert ids(read_model.declarations_of("b1", "ACCEPTED")) == (2, ["2", "4"])
    assert ids(read_model.declarations_of("b1", skip=1, take=1)) == (3, ["2"])
    assert ids(read_model.declarations_of("nobody")) == (0, [])
    read_model.apply_status(update("4", 2, "RELEASED", "b1"))  # its status index moves with it
    read_model.commit({})
    assert ids(read_model.declarations_of("b1", "ACCEPTED")) == (1, ["2"])
    assert ids(read_model.declarations_of("b1", "RELEASED")) == (2, ["1", "4"])


def test_dead_letters_count_once_by_provenance(tmp_path: Path) -> None:
    read_model = ReadStore(tmp_path)
    letter = {"source_topic": "releases", "partition": 0, "offset": 5, "error_code": "INVALID_JSON"}
    read_model.apply_dead_letter(letter)
    read_model.apply_dead_letter(letter)
    assert read_model.dead_letters == {"INVALID_JSON": 1}
    read_model.apply_kpi("CNNGB/GREEN", {"released": 1})
    read_model.apply_kpi("CNNGB/GREEN", None)
    assert read_model.kpis == {}


def test_a_reopened_store_has_what_was_committed_and_nothing_else(tmp_path: Path) -> None:
    read_model = ReadStore(tmp_path)
    read_model.apply_status(update("1", 1, "ACCEPTED", "b1"))
    read_model.apply_dead_letter({"source_topic": "r", "partition": 0, "offset": 1,
                            "error_code": "INVALID_JSON"})
    read_model.apply_kpi("CNNGB/GREEN", {"released": 1})
    read_model.commit({"customs.declaration-status:0": 7})
    read_model.apply_status(update("2", 1, "ACCEPTED", "b1"))  # applied, never committed
    read_model.close()
    again = ReadStore(tmp_path)
    assert again.checkpoint() == {"customs.declaration-status:0": 7}
    assert again.status("2") is None and again.total() == 1
    assert ids(again.declarations_of("b1")) == (1, ["1"])
    assert again.dead_letters == {"INVALID_JSON": 1}
    assert again.kpis == {"CNNGB/GREEN": {"released": 1}}
    assert [u["declaration_id"] for u in again.recent] == ["1"]


def test_the_feed_resumes_from_the_stored_checkpoint(tmp_path: Path) -> None:
    read_model = ReadStore(tmp_path)
    read_model.commit({"customs.declaration-status:3": 42})
    feed = ReadModelFeed("127.0.0.1:1", Topology("customs", 4, 1024), read_model)
    assert feed.positions == {TopicPartition("customs.declaration-status", 3): 42}


def test_the_read_model_skips_and_counts_a_record_it_cannot_read(tmp_path: Path) -> None:
    topology = Topology("customs", 4, 1024)
    feed = ReadModelFeed("127.0.0.1:1", topology, ReadStore(tmp_path))
    tp = TopicPartition(topology.name("declaration-status"), 0)

    def record(offset: int, value: bytes) -> SimpleNamespace:
        return SimpleNamespace(key=b"1", value=value, headers=(), offset=offset)

    feed._take(tp, record(0, b"{not json"))
    feed._take(tp, record(1, orjson.dumps({"no": "declaration id"})))
    feed._take(tp, record(2, orjson.dumps(update("1", 1, "ACCEPTED", "b1"))))
    assert feed.malformed == 2
    status = feed.read_model.status("1")
    assert status is not None and status["status"] == "ACCEPTED"
    assert feed.positions[tp] == 3  # a reconnect carries on from here


def test_a_record_of_the_wrong_shape_is_skipped_whole(tmp_path: Path) -> None:
    topology = Topology("customs", 4, 1024)
    feed = ReadModelFeed("127.0.0.1:1", topology, ReadStore(tmp_path))
    status = TopicPartition(topology.name("declaration-status"), 0)
    letters = TopicPartition(topology.name("dead-letters"), 0)
    kpis = TopicPartition(topology.name("clearance-kpis"), 0)
    facts = TopicPartition(topology.name("firm-facts"), 0)

    def record(offset: int, value: bytes) -> SimpleNamespace:
        return SimpleNamespace(key=b"1", value=value, headers=(), offset=offset)

    bad = [
        (status, b"[1, 2]"),
        (status, orjson.dumps({**update("1", 1, "ACCEPTED", "b1"), "status": {"x": 1}})),
        (status, orjson.dumps({**update("1", 1, "ACCEPTED", "b1"), "sequence": "9"})),
        (status, orjson.dumps({**update("1", 1, "ACCEPTED", "b1"), "buyer_id": ["b2"]})),
        (letters, orjson.dumps({"source_topic": "x", "partition": "0", "offset": 1,
                                "error_code": "INVALID_JSON"})),
        (kpis, b"7"),
        (facts, b'{"event_type": "FirmEnrolled"}'),
        (facts, b"\\xff"),
    ]
    for offset, (tp, value) in enumerate(bad):
        feed._take(tp, record(offset, value))
    assert feed.malformed == len(bad)
    assert feed.read_model.status("1") is None and feed.read_model.total() == 0
    assert feed.read_model.dead_letters == {} and feed.read_model.kpis == {}
    feed._take(status, record(99, orjson.dumps(update("1", 1, "ACCEPTED", "b1"))))
    assert feed.read_model.status_counts() == {"ACCEPTED": 1}


async def test_a_feed_that_stopped_reading_is_not_ready(tmp_path: Path) -> None:
    feed = ReadModelFeed("127.0.0.1:1", Topology("customs", 4, 1024), ReadStore(tmp_path))
    feed.ready.set()
    assert feed.following
    feed.polled_at -= 31  # no poll for longer than a stalled feed is given
    assert not feed.following
