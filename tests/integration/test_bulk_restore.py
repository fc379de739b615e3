"""A worker on an empty disk restores its RocksDB tables from their changelogs in bulk
(fix 7 of stream.runtime.faust_fixes), tombstones included: a declaration removed by retention
stays removed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stream.admin import ensure_topics
from stream.settings import DEFAULT_POLICY, Settings
from stream.tools.replay import delete_topics, isolated, wait_until_processed
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed, lifecycle, model
from tests.integration.test_recovery import stored_declarations
from tests.integration.test_roundtrip import outputs, publish

OPEN, NEWEST = "310020260000000102", "310020260000000104"


def message(document: dict[str, object]) -> tuple[str, bytes, bytes]:
    key = str(document["declaration_id"]).encode()
    return model(document).topic, key, json.dumps(document).encode()


async def test_restored_in_bulk_with_the_declarations_retention_removed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text().replace("closed_days = 400", "closed_days = 30"))
    run = isolated(settings).model_copy(update={
        "store": "rocksdb://", "data_dir": tmp_path / "data", "policy_file": policy,
        "partitions": 1,  # stream time is per partition: one for the three declarations
    })
    await ensure_topics(run.bootstrap_servers, Topology.from_settings(run))
    monkeypatch.setenv("CUSTOMS_STREAM_WORKER_LOG_LEVEL", "info")  # to read the restore
    first = WorkerProcess(run, tmp_path / "first.log")
    second = WorkerProcess(run, tmp_path / "second.log")
    try:
        first.start()
        await publish(run, [message(d) for d in (
            filed(), lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00"),
            lifecycle("GoodsDeparted", "2026-05-10T08:00:00+08:00"),
            filed(declaration_id=OPEN),
        )])
        await wait_until_processed(run, first, timeout=60)
        # Stream time moves to 15 June: the departure of 10 May is past 30 days.
        await publish(run, [message(filed(declaration_id=NEWEST, at="2026-06-15T09:00:00+08:00"))])
        await wait_until_processed(run, first, timeout=60)
        first.stop()
        assert stored_declarations(tmp_path / "data") == {OPEN, NEWEST}
        shutil.rmtree(tmp_path / "data")

        second.start()
        release = lifecycle("GoodsReleased", "2026-06-16T13:00:00+08:00", OPEN)
        await publish(run, [message(release)])
        await wait_until_processed(run, second, timeout=90)
        second.stop()
        assert "table partitions in bulk" in second.log_tail(1 << 20)
        assert stored_declarations(tmp_path / "data") == {OPEN, NEWEST}
        latest = {u["declaration_id"]: u for u in await outputs(run, "declaration-status")}
        assert (latest[OPEN]["status"], latest[OPEN]["sequence"]) == ("RELEASED", 2)
        assert latest[DECL]["status"] == "DEPARTED"  # buyers keep its last status
    finally:
        first.stop()
        second.stop()
        await delete_topics(run)
