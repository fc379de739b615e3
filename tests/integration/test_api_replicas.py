"""``customs-stream api`` replicas beside a worker: any replica answers any request as the
worker's own port does, and a restarted replica resumes from the read model on its disk."""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from stream.tools.replay import ReplayRun
from tests.integration.conftest import until
from tests.integration.test_api import BUYER_1, BUYER_2, OPS, free_port, get
from tests.integration.test_commands import command_env, start

pytestmark = pytest.mark.broker
FIRM = "91330206MA2A777777"


class Replica:
    def __init__(self, kafka: str, run: ReplayRun, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        settings = run.settings
        self.env = command_env(
            kafka, CUSTOMS_STREAM_TOPIC_PREFIX=settings.topic_prefix,
            CUSTOMS_STREAM_WEB_PORT=str(self.port), CUSTOMS_STREAM_DATA_DIR=str(folder),
            CUSTOMS_STREAM_TOKENS_FILE=str(settings.tokens_file),
            CUSTOMS_STREAM_PARTITIONS=str(settings.partitions),
        )
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / f"api-{self.starts}.log"  # one per start

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.process = start(["api"], self.env, self.log)
        await until(self.ready, timeout=60)

    def ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return get(self.port, "/ready")[0] == 200
        except urllib.error.URLError:  # not listening yet
            return False

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(15)


def resumed(log: Path) -> tuple[int, int]:
    """Partitions a start resumed from its checkpoint, and read from their start."""
    said = re.search(r"(\d+) partitions resume from the offsets held, (\d+) from the start",
                     log.read_text())
    assert said, log.read_text()[-3000:]
    return int(said[1]), int(said[2])


def answers(port: int, declarations: list[str]) -> dict[tuple[str, str | None], Any]:
    paths = ["/kpis", "/buyers/buyer-001/declarations?page_size=500",
             "/buyers/buyer-002/declarations", "/buyers/buyer-001/declarations?status=released",
             "/buyers/buyer-001/declarations?page=2&page_size=3",
             f"/firms/{FIRM}/eligibility?at=2026-05-09T09:00:00%2B08:00",
             *(f"/declarations/{d}" for d in declarations)]
    return {(path, token): get(port, path, token)
            for path in paths for token in (OPS, BUYER_1, BUYER_2, None)}


def board(port: int) -> dict[str, Any]:
    _, data = get(port, "/board/data", OPS)
    return {k: v for k, v in data.items() if k != "recent"}  # recent: in reading order


async def test_replicas_answer_as_the_worker_and_resume_from_disk(
    served: tuple[int, ReplayRun], kafka: str, tmp_path: Path
) -> None:
    port, run = served
    _, listing = get(port, "/buyers/buyer-001/declarations?page_size=500", OPS)
    _, others = get(port, "/buyers/buyer-002/declarations", OPS)
    declarations = [s["declaration_id"] for s in listing["items"] + others["items"]]
    assert len(declarations) > 10
    expected = answers(port, declarations)
    assert expected["/declarations/" + declarations[0], BUYER_2][0] == 404  # isolation holds
    replicas = [Replica(kafka, run, tmp_path / f"replica-{n}") for n in range(2)]
    try:
        for replica in replicas:
            await replica.start()
        for replica in replicas:
            assert answers(replica.port, declarations) == expected
            assert board(replica.port) == board(port)
        first = resumed(replicas[0].log)
        assert first[0] == 0 and first[1] > 0  # the first start reads every partition
        assert replicas[0].stop() == 0
        await replicas[0].start()  # the same disk: it carries on from its checkpoint
        assert resumed(replicas[0].log) == (first[1], 0)
        assert answers(replicas[0].port, declarations) == expected
    finally:
        for replica in replicas:
            if replica.process is not None and replica.process.poll() is None:
                replica.process.kill()
