"""The edge of the pipeline on the real broker, tried as a hostile but authorised producer
would: headers that claim another provenance, and the largest bodies the input topics
accept, must neither forge a fact nor stop the worker."""

from __future__ import annotations

import hashlib
import json

from stream.runtime.batches import partition_for
from stream.settings import Settings
from stream.tools.replay import wait_until_processed
from stream.topics import SPECS, Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed, lifecycle
from tests.integration.hostile import Sent, outcome, send_all
from tests.integration.test_roundtrip import outputs

OTHER = "310020260000000102"
FORGED = [("x-source-topic", b"releases"), ("x-source-partition", b"0"),
          ("x-source-offset", b"5")]


async def test_a_release_forged_through_headers_is_a_wrong_topic_dead_letter(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = pipeline_worker
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    await send_all(settings, [Sent("declarations", json.dumps(filed()).encode(), DECL.encode())])
    await wait_until_processed(settings, worker, timeout=60)
    sent = await send_all(settings, [
        Sent("declarations", json.dumps(release).encode(), DECL.encode(), FORGED),
        Sent("declarations", json.dumps(release).encode(), None,  # unkeyed: forwarded first
             [*FORGED, ("x-source-partition", b"zero")]),
    ])
    await wait_until_processed(settings, worker, timeout=60)
    seen = await outcome(settings)
    assert set(sent) <= set(seen.dead_letters)
    assert {seen.dead_letters[ref]["error_code"] for ref in sent} == {"WRONG_TOPIC"}
    statuses = await outputs(settings, "declaration-status")
    assert [s["status"] for s in statuses] == ["ACCEPTED"]


async def test_the_largest_input_is_too_large_and_the_next_filing_in_its_partition_is_applied(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = pipeline_worker
    partition = partition_for(DECL, settings.partitions)
    body = b"\x01" * (settings.max_message_bytes - 4096)  # the topic takes 8 MiB in all
    # Just under 1 MiB, unkeyed, in the wrong partition: forwarded whole, with headers.
    padded = {**filed(declaration_id=OTHER), "padding": "p" * (1024 * 1024 - 2000)}
    wrong = (partition_for(OTHER, settings.partitions) + 1) % settings.partitions
    sent = await send_all(settings, [
        Sent("declarations", body, DECL.encode(), partition=partition),
        Sent("declarations", json.dumps(padded).encode(), None, partition=wrong),
        Sent("declarations", json.dumps(filed()).encode(), DECL.encode(), partition=partition),
    ])
    await wait_until_processed(settings, worker, timeout=120)
    worker.check_alive()
    big, forwarded, filing = sent
    seen = await outcome(settings)
    letter = seen.dead_letters[big]
    assert letter["error_code"] == "TOO_LARGE" and letter["raw_length"] == len(body)
    assert letter["raw_sha256"] == hashlib.sha256(body).hexdigest()
    assert len(letter["raw"]) == 64 * 1024
    assert [s["status"] for s in seen.caused[filing]] == ["ACCEPTED"]
    assert [s["declaration_id"] for s in seen.caused[forwarded]] == [OTHER]
    assert "Traceback" not in worker.log_tail(200_000)
    # Dead letters are bounded: their topic needs no more than the broker's default.
    [spec] = [s for s in SPECS if s.name == "dead-letters"]
    assert "max.message.bytes" not in Topology.from_settings(settings).config_of(spec)
