from __future__ import annotations

from typing import Any

from stream.published import StatusBook


def update(declaration_id: str, sequence: int, status: str, buyer: str | None) -> dict[str, Any]:
    return {"declaration_id": declaration_id, "sequence": sequence, "status": status,
            "buyer_id": buyer}


def test_the_highest_sequence_stands() -> None:
    book = StatusBook()
    book.apply_status(update("1", 2, "RELEASED", "b1"))
    book.apply_status(update("1", 1, "ACCEPTED", "b1"))  # read late
    assert book.statuses["1"]["status"] == "RELEASED"
    assert book.open_count() == 1
    book.apply_status(update("1", 3, "DEPARTED", "b1"))
    assert book.open_count() == 0


def test_buyers_index_and_filters() -> None:
    book = StatusBook()
    book.apply_status(update("2", 1, "AWAITING_DECLARATION", None))
    book.apply_status(update("2", 2, "ACCEPTED", "b1"))
    book.apply_status(update("1", 1, "RELEASED", "b1"))
    book.apply_status(update("3", 1, "ACCEPTED", "b2"))
    assert [s["declaration_id"] for s in book.declarations_of("b1")] == ["1", "2"]
    assert [s["declaration_id"] for s in book.declarations_of("b1", "ACCEPTED")] == ["2"]
    assert book.declarations_of("nobody") == []


def test_dead_letters_count_once_by_provenance_and_reset_forgets() -> None:
    book = StatusBook()
    letter = {"source_topic": "releases", "partition": 0, "offset": 5, "error_code": "INVALID_JSON"}
    book.apply_dead_letter(letter)
    book.apply_dead_letter(letter)
    assert book.dead_letters == {"INVALID_JSON": 1}
    book.apply_kpi("CNNGB/GREEN", {"released": 1})
    book.apply_kpi("CNNGB/GREEN", None)
    assert book.kpis == {}
    book.reset()
    assert book.dead_letters == {} and book.statuses == {}


def test_the_read_model_skips_and_counts_a_record_it_cannot_read() -> None:
    from types import SimpleNamespace

    import orjson
    from aiokafka import TopicPartition

    from stream.published import ReadModelFeed
    from stream.topics import Topology

    topology = Topology("customs", 4, 1024)
    feed = ReadModelFeed("127.0.0.1:1", topology, StatusBook())
    tp = TopicPartition(topology.name("declaration-status"), 0)

    def record(offset: int, value: bytes) -> SimpleNamespace:
        return SimpleNamespace(key=b"1", value=value, headers=(), offset=offset)

    feed._take(tp, record(0, b"{not json"))
    feed._take(tp, record(1, orjson.dumps({"no": "declaration id"})))
    feed._take(tp, record(2, orjson.dumps(update("1", 1, "ACCEPTED", "b1"))))
    assert feed.malformed == 2
    assert feed.book.statuses["1"]["status"] == "ACCEPTED"
    assert feed.positions[tp] == 3  # a reconnect carries on from here
