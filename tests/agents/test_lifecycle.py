from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError
from faust.exceptions import NotReady, PartitionsMismatch

from stream.core.lifecycle import DeclarationState
from stream.runtime.faust_fixes import FlushFailed
from stream.runtime.pipeline import Pipeline
from tests.agents.conftest import Captured, read_from
from tests.builders import (
    DECL,
    FIRM,
    certificate,
    filed,
    lifecycle,
    model,
    qualified_firm,
    revoked,
)

OTHER = "310020260000000102"


async def test_a_filing_publishes_status_decision_and_nothing_else(
    pipeline: Pipeline, captured: Captured
) -> None:
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 7))
    [status] = captured.on("declaration-status")
    assert (status.key, status.value["status"], status.value["sequence"]) == (DECL, "ACCEPTED", 1)
    [decision] = captured.on("release-decisions")
    assert decision.value["decision"] == "STANDARD_REVIEW"
    assert decision.value["policy_version"] == "2026-04-10"
    assert captured.on("dead-letters") == [] and captured.on("clearances") == []


async def test_every_status_update_carries_its_status_in_standard_codes(
    pipeline: Pipeline, captured: Captured
) -> None:
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        await agent.put(json.dumps(release).encode(), **read_from("releases", DECL, 2))
    codes = [(s.value["status"], s.value["codes"]) for s in captured.on("declaration-status")]
    assert codes == [
        ("ACCEPTED", {"wco": "01", "uk_cds": "ACCEPTED", "eu_aes": "ACCEPTED", "dcsa": None}),
        ("RELEASED", {"wco": "08", "uk_cds": "RELEASED", "eu_aes": "RELEASED_FOR_EXPORT",
                      "dcsa": "CUSR"}),
    ]


async def test_repeats_are_counted_and_conflicts_dead_lettered(
    pipeline: Pipeline, captured: Captured
) -> None:
    document = filed()
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(document).encode(), **read_from("declarations", DECL, 1))
        await agent.put(json.dumps(document).encode(), **read_from("declarations", DECL, 2))
        edited = {**document, "buyer_reference": "PO-EDITED"}
        await agent.put(json.dumps(edited).encode(), **read_from("declarations", DECL, 3))
    [repeat] = captured.on("duplicates")
    assert (repeat.value["offset"], repeat.value["event_id"]) == (2, document["event_id"])
    [letter] = captured.on("dead-letters")
    assert (letter.value["error_code"], letter.value["offset"]) == ("EVENT_ID_CONFLICT", 3)
    assert len(captured.on("declaration-status")) == 1


async def test_a_repeat_writes_no_state(pipeline: Pipeline, captured: Captured) -> None:
    """A repeat changes nothing: the state is not written again (and its ledger does
    not grow), however many times an ERP sends the same event."""
    written = captured.writes  # the changelog writes that reached the producer
    document = filed()
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(document).encode(), **read_from("declarations", DECL, 1))
        first = len(written)
        for offset in range(2, 6):
            again = read_from("declarations", DECL, offset)
            await agent.put(json.dumps(document).encode(), **again)
        edited = {**document, "buyer_reference": "PO-EDITED"}
        await agent.put(json.dumps(edited).encode(), **read_from("declarations", DECL, 6))
    assert first > 0 and len(written) == first
    assert len(captured.on("duplicates")) == 4 and len(captured.on("dead-letters")) == 1


async def test_a_message_that_raises_is_dead_lettered_and_the_agent_goes_on(
    pipeline: Pipeline, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply = DeclarationState.apply

    def failing(self: DeclarationState, *args: object, **kwargs: object) -> object:
        if self.declaration_id == DECL:
            raise RuntimeError("boom")
        return apply(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeclarationState, "apply", failing)
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        other = filed(declaration_id=OTHER)
        await agent.put(json.dumps(other).encode(), **read_from("declarations", OTHER, 2))
    [letter] = captured.on("dead-letters")
    assert letter.value["error_code"] == "PROCESSING_ERROR"
    assert "RuntimeError: boom" in letter.value["error_detail"]
    assert [s.key for s in captured.on("declaration-status")] == [OTHER]


async def test_a_message_in_the_wrong_partition_is_forwarded_with_its_provenance(
    pipeline: Pipeline, captured: Captured
) -> None:
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    wrong = (read_from("releases", DECL, 0)["partition"] + 1) % 4
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(
            json.dumps(release).encode(), **read_from("releases", None, 9, partition=wrong)
        )
    [forwarded] = captured.on("lifecycle-rekeyed")
    assert forwarded.key == DECL and forwarded.headers is not None
    assert forwarded.headers["x-source-topic"] == b"releases"
    assert forwarded.headers["x-source-offset"] == b"9"
    assert captured.on("declaration-status") == []


async def test_bad_bytes_become_dead_letters(pipeline: Pipeline, captured: Captured) -> None:
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(b"\xff not json", **read_from("inspections", None, 4))
    [letter] = captured.on("dead-letters")
    assert (letter.value["error_code"], letter.value["raw_encoding"]) == ("INVALID_JSON", "base64")
    assert (letter.value["source_topic"], letter.value["offset"]) == ("inspections", 4)


@pytest.mark.parametrize("failure", [
    KafkaTimeoutError("no broker"),
    FlushFailed("producer buffer not drained"),
    NotReady("Producer service not yet started"),
    PartitionsMismatch("changelog has 0 partitions"),  # metadata not yet propagated
])
async def test_an_infrastructure_failure_stops_the_worker_instead_of_a_dead_letter(
    pipeline: Pipeline, captured: Captured, monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    from stream.agents import common

    stops: list[str] = []
    monkeypatch.setattr(common, "fail_stop", stops.append)

    def broker_gone(self: DeclarationState, *args: object, **kwargs: object) -> object:
        raise failure

    monkeypatch.setattr(DeclarationState, "apply", broker_gone)
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
    assert len(stops) == 1 and "declarations:" in stops[0]
    assert captured.on("dead-letters") == []  # its offset must not be committed as handled


def firm_facts_at(agent: Any, partition: int, offset: int) -> dict[str, Any]:
    """put() arguments for a copy of a firm fact read from ``firm-facts``."""
    original = agent.to_message

    def to_message(key: Any, value: Any, **kwargs: Any) -> Any:
        agent.to_message = original  # for this one message only
        message = original(key, value, **kwargs)
        message.topic = "customs.firm-facts"
        message.offset = offset
        return message

    agent.to_message = to_message
    return {"key": FIRM.encode(), "partition": partition}


async def test_the_message_that_brought_a_firm_fact_reassesses_again_when_read_again(
    pipeline: Pipeline, captured: Captured
) -> None:
    # A worker killed half way through a re-assessment: the firm fact's message is read
    # again, the fact is known by then, and every declaration is published anew.
    partition = read_from("declarations", DECL, 0)["partition"]
    late = revoked("ISO9001-7777", "2026-05-01T09:00:00+08:00")
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for n, fact in enumerate(qualified_firm()):
            await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, n))
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        assert [s.value["channel"] for s in captured.on("declaration-status")] == ["GREEN"]
        await agent.put(json.dumps(late).encode(), **firm_facts_at(agent, partition, 10))
        assert len(captured.on("declaration-status")) == 2  # re-assessed: STANDARD now
        await agent.put(json.dumps(late).encode(), **firm_facts_at(agent, partition, 10))
        again = [{**s.value, "updated_at": None} for s in captured.on("declaration-status")]
        assert len(again) == 3 and again[2] == again[1]  # the same view, the same sequence
        await agent.put(json.dumps(late).encode(), **firm_facts_at(agent, partition, 11))
    assert len(captured.on("declaration-status")) == 3  # another copy: nothing to do


async def test_a_late_fact_rebuilds_only_declarations_whose_standing_it_changes(
    pipeline: Pipeline, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    partition = read_from("declarations", DECL, 0)["partition"]
    refreshed: list[str] = []
    refresh = DeclarationState.refresh

    def counting(self: DeclarationState, *args: Any, **kwargs: Any) -> Any:
        refreshed.append(self.declaration_id)
        return refresh(self, *args, **kwargs)

    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for n, fact in enumerate(qualified_firm()):
            await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, n))
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        monkeypatch.setattr(DeclarationState, "refresh", counting)
        # Revoked after the declaration's time (2026-05-09): its decision stands.
        after = revoked("ISO9001-7777", "2026-06-01T00:00:00+08:00")
        await agent.put(json.dumps(after).encode(), **firm_facts_at(agent, partition, 10))
        # A second ISO 14001 certificate: the firm holds one already, nothing changes.
        extra = certificate("ISO14001", certificate_id="ISO14001-8888")
        await agent.put(json.dumps(extra).encode(), **firm_facts_at(agent, partition, 11))
        assert refreshed == [] and len(captured.on("declaration-status")) == 1
        before = revoked("ISO9001-7777", "2026-05-01T00:00:00+08:00")
        await agent.put(json.dumps(before).encode(), **firm_facts_at(agent, partition, 12))
    assert refreshed == [DECL] and len(captured.on("declaration-status")) == 2


async def test_a_late_fact_decodes_only_declarations_listed_where_it_changes_the_standing(
    pipeline: Pipeline, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stream.agents.lifecycle import Lifecycle
    from stream.runtime.batches import partition_for

    partition = read_from("declarations", DECL, 0)["partition"]
    later = next(d for d in (f"31002026{n:010d}" for n in range(200, 400))
                 if partition_for(d, 4) == partition)
    loaded: list[str] = []
    load = Lifecycle.load

    def counting(self: Lifecycle, declaration_id: str) -> DeclarationState:
        loaded.append(declaration_id)
        return load(self, declaration_id)

    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for n, fact in enumerate(qualified_firm()):
            await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, n))
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        second = filed("2026-05-20T09:00:00+08:00", declaration_id=later)
        await agent.put(json.dumps(second).encode(), **read_from("declarations", later, 2))
        monkeypatch.setattr(Lifecycle, "load", counting)
        # Revoked between the two: only the later declaration's standing changes.
        fact = revoked("ISO9001-7777", "2026-05-15T00:00:00+08:00")
        await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, 10))
    assert loaded == [later]
    channels = [(s.key, s.value["channel"]) for s in captured.on("declaration-status")]
    assert channels == [(DECL, "GREEN"), (later, "GREEN"), (later, "STANDARD")]


async def test_kept_states_and_histories_are_forgotten_at_a_rebalance(
    pipeline: Pipeline, captured: Captured
) -> None:
    """Decoded states are kept between messages (a RocksDB read decodes the whole value
    again), and forgotten when partitions move: the tables may then be restored from
    their changelogs, written by another worker meanwhile."""
    lifecycle_ = pipeline.handlers["lifecycle"]
    partition = read_from("declarations", DECL, 0)["partition"]
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for n, fact in enumerate(qualified_firm()):
            await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, n))
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
    kept = lifecycle_.load(DECL)
    assert kept.sequence == 1
    lifecycle_.keep(kept)
    # Another worker moved the declaration on; its changelog restores this table.
    elsewhere = DeclarationState.from_json({**kept.to_json(), "sequence": 5})
    lifecycle_.declarations.data[DECL] = elsewhere.to_json()
    assert lifecycle_.load(DECL) is kept  # no rebalance: the kept state stands
    lifecycle_.keep(kept)
    firms_ = lifecycle_.firms
    key = f"{partition}:{FIRM}"
    assert len(firms_.history(partition, FIRM).facts) == 3
    firms_.histories.data[key] = {**firms_.histories.data[key], "facts": []}
    await pipeline.app.on_partitions_assigned.send(set())
    assert lifecycle_.load(DECL).sequence == 5
    assert firms_.history(partition, FIRM).facts == {}


async def test_a_fact_that_fails_to_be_stored_leaves_the_kept_history_as_it_was(
    pipeline: Pipeline, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    firms_ = pipeline.handlers["lifecycle"].firms
    partition = read_from("declarations", DECL, 0)["partition"]
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        for n, fact in enumerate(qualified_firm()):
            await agent.put(json.dumps(fact).encode(), **firm_facts_at(agent, partition, n))
    from stream.core.eligibility import FirmHistory

    def broken(self: FirmHistory) -> object:
        raise RuntimeError("cannot encode")

    monkeypatch.setattr(FirmHistory, "to_json", broken)
    late = revoked("ISO9001-7777", "2026-05-01T09:00:00+08:00")
    with pytest.raises(RuntimeError):
        firms_.fold(partition, model(late), 10)
    assert len(firms_.history(partition, FIRM).facts) == 3


FORGED = {  # what a producer may claim in headers; believed only on forwarding topics
    "x-source-topic": b"releases", "x-source-partition": b"0", "x-source-offset": b"5",
}


async def test_a_release_on_declarations_is_wrong_topic_whatever_its_headers_say(
    pipeline: Pipeline, captured: Captured
) -> None:
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        forged = read_from("declarations", DECL, 2, headers=FORGED)
        await agent.put(json.dumps(release).encode(), **forged)
    [letter] = captured.on("dead-letters")
    assert (letter.value["error_code"], letter.value["source_topic"]) == (
        "WRONG_TOPIC", "declarations")
    assert letter.value["offset"] == 2
    assert [s.value["status"] for s in captured.on("declaration-status")] == ["ACCEPTED"]


@pytest.mark.parametrize("headers", [
    {},  # no provenance at all
    {**FORGED, "x-source-partition": b"zero"},
    {**FORGED, "x-source-offset": b"-5"},
    {**FORGED, "x-source-topic": b"firms"},  # not a lifecycle input
    {**FORGED, "x-source-topic": b"\xff" * 100000},
])
async def test_a_forward_with_malformed_provenance_is_judged_as_read_there(
    pipeline: Pipeline, captured: Captured, headers: dict[str, bytes]
) -> None:
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        message = read_from("lifecycle-rekeyed", DECL, 3, headers=headers)
        await agent.put(json.dumps(release).encode(), **message)
    [letter] = captured.on("dead-letters")
    assert (letter.value["error_code"], letter.value["source_topic"]) == (
        "WRONG_TOPIC", "lifecycle-rekeyed")
    assert captured.on("declaration-status") == []


async def test_a_forward_names_the_input_it_forwards(
    pipeline: Pipeline, captured: Captured
) -> None:
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        message = read_from("lifecycle-rekeyed", DECL, 3,
                            headers={**FORGED, "x-source-key": b""})
        await agent.put(json.dumps(release).encode(), **message)
        await agent.put(json.dumps(release).encode(), **read_from("releases", DECL, 6))
    [repeat] = captured.on("duplicates")
    assert (repeat.value["source_topic"], repeat.value["offset"]) == ("releases", 6)
    assert [s.value["status"] for s in captured.on("declaration-status")] == [
        "ACCEPTED", "RELEASED"]


async def test_an_event_past_the_declarations_limit_is_a_dead_letter(
    pipeline: Pipeline, captured: Captured
) -> None:
    limits = pipeline.policy.limits.model_copy(update={"max_events_per_declaration": 2})
    pipeline.policy = pipeline.policy.model_copy(update={"limits": limits})
    async with pipeline.app.agents["lifecycle"].test_context() as agent:
        await agent.put(json.dumps(filed()).encode(), **read_from("declarations", DECL, 1))
        ordered = lifecycle("InspectionOrdered", "2026-05-09T11:00:00+08:00")
        await agent.put(json.dumps(ordered).encode(), **read_from("inspections", DECL, 2))
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        await agent.put(json.dumps(release).encode(), **read_from("releases", DECL, 3))
    [letter] = captured.on("dead-letters")
    assert (letter.value["error_code"], letter.value["offset"]) == ("LIMIT_EXCEEDED", 3)
    assert "2 events" in letter.value["error_detail"]
    assert [s.value["status"] for s in captured.on("declaration-status")] == [
        "ACCEPTED", "INSPECTION_ORDERED"]
    assert len(pipeline.handlers["lifecycle"].load(DECL).events) == 2
