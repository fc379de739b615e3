"""A worker that has a backlog of published outputs to read answers /ready with 503
until it has read them, then 200; with no tokens file every data endpoint answers 401."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from stream.admin import ensure_topics
from stream.settings import Settings
from stream.tools.replay import delete_topics, isolated
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.integration.test_api import OPS, free_port, get

BACKLOG = 100_000  # status updates already published when the worker starts


async def preload(settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=50,
                                max_batch_size=1 << 20)
    await producer.start()
    topic = Topology.from_settings(settings).name("declaration-status")
    try:
        for n in range(BACKLOG):
            declaration_id = f"3100202600000{n % 1000:05d}"
            update = {"declaration_id": declaration_id, "sequence": n // 1000 + 1,
                      "status": "ACCEPTED", "buyer_id": "buyer-001"}
            await producer.send(topic, orjson.dumps(update), key=declaration_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def test_ready_waits_for_the_read_model_and_no_tokens_file_closes_the_data(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    run = isolated(settings).model_copy(
        update={"web_enabled": True, "web_port": port, "tokens_file": None}
    )
    await ensure_topics(run.bootstrap_servers, Topology.from_settings(run))
    worker = WorkerProcess(run, tmp_path / "worker.log")
    try:
        await preload(run)
        worker.start()
        answers: list[tuple[int, object]] = []
        deadline = time.monotonic() + 120
        while not answers or answers[-1][0] != 200:
            worker.check_alive()
            assert time.monotonic() < deadline, f"never ready: {answers[-3:]}"
            with contextlib.suppress(OSError):  # not listening yet
                answers.append(await asyncio.to_thread(get, port, "/ready"))
            await asyncio.sleep(0.05)
        assert (503, {"ready": False}) in answers, answers[:5]
        assert answers[-1] == (200, {"ready": True})

        assert get(port, "/health") == (200, {"status": "ok"})
        for path in ("/declarations/310020260000000001", "/kpis",
                     "/buyers/buyer-001/declarations", "/board/data"):
            status, body = get(port, path, OPS)  # no tokens file: no token is known
            assert status == 401 and body["status"] == 401, (path, body)
            assert get(port, path)[0] == 401
        assert json.dumps(get(port, "/kpis")[1]).find("kpis") == -1
    finally:
        worker.stop()
        await delete_topics(run)
