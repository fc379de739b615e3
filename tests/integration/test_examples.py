"""The buyer-side examples run against a real worker: an ERP publishes a declaration with
a plain Kafka client, and a buyer's integration reads its status back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from stream.settings import Settings
from stream.tools.replay import wait_until_processed
from stream.topics import Topology
from stream.worker.process import WorkerProcess
from tests.builders import DECL, filed, lifecycle
from tests.conftest import ROOT
from tests.integration.test_roundtrip import publish


async def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, *args], capture_output=True, text=True, timeout=120,
        cwd=ROOT,
    )


async def test_an_erp_publishes_and_a_buyer_reads_the_latest_status(
    pipeline_worker: tuple[Settings, WorkerProcess], tmp_path: Path
) -> None:
    settings, worker = pipeline_worker
    topology = Topology.from_settings(settings)
    document = tmp_path / "declaration.json"
    document.write_text(json.dumps(filed()))
    sent = await run_example("examples/erp_publish.py", "--broker", settings.bootstrap_servers,
                             "--topic", topology.name("declarations"), str(document))
    assert sent.returncode == 0 and sent.stdout.startswith("published "), sent.stderr
    await wait_until_processed(settings, worker, timeout=60)
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00")
    await publish(settings, [("releases", DECL.encode(), json.dumps(release).encode())])
    await wait_until_processed(settings, worker, timeout=60)
    read = await run_example("examples/buyer_status.py", "--broker", settings.bootstrap_servers,
                             "--topic", topology.name("declaration-status"),
                             "--buyer", "buyer-001")
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines() == [f"{DECL} RELEASED channel=STANDARD (#2)"]
    other = await run_example("examples/buyer_status.py", "--broker", settings.bootstrap_servers,
                              "--topic", topology.name("declaration-status"),
                              "--buyer", "buyer-002")
    assert other.returncode == 0 and other.stdout == ""


def test_the_buyer_keeps_the_highest_sequence() -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    from buyer_status import keep_latest  # type: ignore[import-not-found]

    latest: dict[str, dict[str, object]] = {}
    assert keep_latest(latest, {"declaration_id": "1", "sequence": 2, "status": "RELEASED"})
    assert not keep_latest(latest, {"declaration_id": "1", "sequence": 1, "status": "ACCEPTED"})
    assert not keep_latest(latest, {"declaration_id": "1", "sequence": 2, "status": "RELEASED"})
    assert latest["1"]["status"] == "RELEASED"
