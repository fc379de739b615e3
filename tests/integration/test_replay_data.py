"""A replay leaves nothing behind when it ends, and its worker's log when it fails."""

from __future__ import annotations

import pytest

from stream.settings import Settings
from stream.tools.replay import ReplayRun
from stream.tools.scenario import read_scenario
from tests.conftest import ROOT

SCENARIO = ROOT / "tests" / "scenarios" / "01-green-channel" / "events.jsonl"


async def test_a_run_removes_its_data_unless_it_failed(settings: Settings) -> None:
    async with ReplayRun(settings) as run:
        await run.play(read_scenario(SCENARIO)[:4])
        assert (run.settings.data_dir / "worker.log").exists()
    assert not run.settings.data_dir.exists()
    with pytest.raises(RuntimeError, match="stopped on purpose"):
        async with ReplayRun(settings) as failed:
            raise RuntimeError("stopped on purpose")
    assert (failed.settings.data_dir / "worker.log").exists()  # to tell what went wrong
