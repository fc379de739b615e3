"""A real worker on the real broker: a filing in, a status update out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from stream.settings import Settings
from stream.tools.replay import read_records, read_topic, wait_until_processed
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed, lifecycle


async def publish(
    settings: Settings, messages: Sequence[tuple[str, bytes | None, bytes]]
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    try:
        topology = Topology.from_settings(settings)
        for topic, key, value in messages:
            await producer.send_and_wait(topology.name(topic), value=value, key=key)
    finally:
        await producer.stop()


async def outputs(settings: Settings, topic: str) -> list[dict[str, Any]]:
    name = Topology.from_settings(settings).name(topic)
    records = await read_topic(settings.bootstrap_servers, name)
    return [json.loads(v) for _, v in records if v is not None]


async def test_a_filing_comes_out_as_a_status_update(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = pipeline_worker
    filing = filed()
    # Topics are read in no fixed order relative to each other: wait in between, so
    # that the sequence of updates is known.
    await publish(settings, [("declarations", DECL.encode(), json.dumps(filing).encode())])
    await wait_until_processed(settings, worker, timeout=60)
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    await publish(settings, [("releases", DECL.encode(), json.dumps(release).encode())])
    await wait_until_processed(settings, worker, timeout=60)
    updates = await outputs(settings, "declaration-status")
    assert [(u["sequence"], u["status"]) for u in updates] == [(1, "ACCEPTED"), (2, "RELEASED")]
    assert updates[-1]["clearance_hours"] == 4.0 and updates[-1]["declaration_id"] == DECL
    decisions = await outputs(settings, "release-decisions")
    assert [d["decision"] for d in decisions] == ["STANDARD_REVIEW"]  # unknown firm
    assert decisions[0]["eligibility"]["reasons"] == [
        "ISO14001_MISSING", "ISO9001_MISSING", "NOT_ENROLLED"
    ]
    kpis = await outputs(settings, "clearance-kpis")
    assert kpis[-1]["released"] == 1 and kpis[-1]["port"] == "CNNGB"

    # Each output names the input behind it; a status update, the events it shows.
    topology = Topology.from_settings(settings)
    inputs = {r.value: f"{topology.bare(r.topic)}:{r.partition}:{r.offset}"
              for r in await read_records(settings.bootstrap_servers, topology.inputs)}
    filing_ref = inputs[json.dumps(filing).encode()]
    release_ref = inputs[json.dumps(release).encode()]
    status_records = await read_records(
        settings.bootstrap_servers, [topology.name("declaration-status")]
    )
    headers = [dict(r.headers) for r in sorted(status_records, key=lambda r: r.offset)]
    assert [h["x-caused-by"].decode() for h in headers] == [filing_ref, release_ref]
    shown = [f"e:{filing['event_id']}", f"e:{release['event_id']}"]
    assert [json.loads(h["x-events"]) for h in headers] == [shown[:1], sorted(shown)]
    [decision] = await read_records(
        settings.bootstrap_servers, [topology.name("release-decisions")]
    )
    assert dict(decision.headers)["x-caused-by"].decode() == filing_ref


def test_the_worker_fails_clearly_without_a_broker(settings: Settings) -> None:
    env = {**os.environ, "CUSTOMS_STREAM_BROKER": "127.0.0.1:1"}
    result = subprocess.run(
        [sys.executable, "-m", "stream", "worker"], env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no Kafka broker answers at 127.0.0.1:1" in result.stderr
