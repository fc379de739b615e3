"""Fail-stop on lost output: when the broker refuses a status update, the worker stops
at once (exit 70) and the input behind it stays uncommitted, for its successor."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from stream.admin import connect_admin, ensure_topics, group_lag
from stream.settings import Settings
from stream.tools.replay import delete_topics, isolated
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed
from tests.integration.test_roundtrip import publish


async def test_a_refused_output_stops_the_worker_before_its_input_is_committed(
    settings: Settings, tmp_path: Path
) -> None:
    run = isolated(settings)
    topology = Topology.from_settings(run)
    await ensure_topics(run.bootstrap_servers, topology)
    admin = await connect_admin(run.bootstrap_servers)
    try:  # no status update fits any more: the broker refuses every one
        await admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topology.name("declaration-status"),
            configs={"max.message.bytes": "64"},
        )])
    finally:
        await admin.close()
    worker = WorkerProcess(run, tmp_path / "worker.log")
    try:
        worker.start()
        await publish(run, [("declarations", DECL.encode(), json.dumps(filed()).encode())])
        assert worker.process is not None
        deadline = time.monotonic() + 90
        while worker.process.poll() is None:
            assert time.monotonic() < deadline, worker.log_tail()
            await asyncio.sleep(0.2)
        assert worker.process.returncode == 70, worker.log_tail()
        assert "an output could not be delivered" in worker.log_tail(10**6)
        lag = await group_lag(run.bootstrap_servers, run.app_id, [topology.name("declarations")])
        assert sum(lag.values()) == 1  # the filing will be handled again
    finally:
        worker.stop()
        await delete_topics(run)
