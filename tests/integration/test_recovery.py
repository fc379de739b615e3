"""State survives a restart: a new worker recovers every declaration from the table's
changelog (in memory, or in RocksDB with its local files gone) and carries on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import cast

import pytest

from stream.admin import ensure_topics
from stream.settings import Settings
from stream.tools.replay import delete_topics, isolated, wait_until_processed
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed, lifecycle
from tests.integration.test_roundtrip import outputs, publish


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_a_restarted_worker_recovers_state_from_the_changelog(
    settings: Settings, tmp_path: Path, store: str
) -> None:
    run = isolated(settings).model_copy(update={"store": store, "data_dir": tmp_path / "data"})
    await ensure_topics(run.bootstrap_servers, Topology.from_settings(run))
    filing = json.dumps(filed()).encode()
    first = WorkerProcess(run, tmp_path / "first.log")
    second = WorkerProcess(run, tmp_path / "second.log")
    try:
        first.start()
        await publish(run, [("declarations", DECL.encode(), filing)])
        await wait_until_processed(run, first, timeout=60)
        first.stop()
        if store == "rocksdb://":
            assert stored_declarations(tmp_path / "data") == {DECL}  # on disk, in RocksDB
            shutil.rmtree(tmp_path / "data")  # nothing local left: the changelog must serve

        second.start()
        # Published at once, while the new worker is still recovering its tables.
        release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
        await publish(run, [
            ("declarations", DECL.encode(), filing),  # a repeat: the ledger was recovered too
            ("releases", DECL.encode(), json.dumps(release).encode()),
        ])
        await wait_until_processed(run, second, timeout=90)
        second.stop()

        updates = await outputs(run, "declaration-status")
        # A message read again after a rebalance says its update again, under the same
        # sequence: what a buyer keeps (one view per sequence) is what counts.
        views = {u["sequence"]: {**u, "updated_at": None} for u in updates}
        assert all({**u, "updated_at": None} == views[u["sequence"]] for u in updates)
        assert [(n, v["status"]) for n, v in sorted(views.items())] == [
            (1, "ACCEPTED"), (2, "RELEASED"),
        ]
        assert updates[-1]["clearance_hours"] == 4.0
        repeats = {(d["source_topic"], d["partition"], d["offset"])
                   for d in await outputs(run, "duplicates")}
        assert len(repeats) == 1  # by provenance: a redelivered repeat may be said twice
    finally:
        first.stop()
        second.stop()
        await delete_topics(run)


def stored_declarations(data_dir: Path) -> set[str]:
    """The declaration ids the worker's RocksDB holds, read from its files."""
    from rocksdict import AccessType, Options, Rdict

    found: set[str] = set()
    databases = [p for p in data_dir.rglob("*.db") if "declaration-state" in p.name]
    assert databases, f"no RocksDB database of the declaration table under {data_dir}"
    for path in databases:
        # Raw keys, as Faust writes them: the table's key serializer is orjson.
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            keys = [cast(bytes, key) for key in db.keys()]  # noqa: SIM118 - no __iter__
            # Faust keeps its changelog offset under a key of its own.
            found.update(json.loads(key) for key in keys if not key.startswith(b"__faust"))
        finally:
            db.close()
    return found
