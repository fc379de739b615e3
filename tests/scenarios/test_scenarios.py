"""Every acceptance scenario, replayed through `customs-stream replay` against the real
broker and compared with its expected.json field for field."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stream.scenario import differences

HERE = Path(__file__).resolve().parent
SCENARIOS = sorted(p for p in HERE.iterdir() if (p / "events.jsonl").exists())
SHARED = HERE.parents[2] / "shared" / "scenarios"


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 7


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_agrees_through_replay(scenario: Path, kafka: str) -> None:
    env = {**os.environ, "CUSTOMS_STREAM_BROKER": kafka}
    result = subprocess.run(
        [sys.executable, "-m", "stream", "replay", str(scenario / "events.jsonl")],
        env=env, capture_output=True, text=True, timeout=240,  # within pytest's 300 s
    )
    assert result.returncode == 0, result.stderr[-3000:]
    actual = json.loads(result.stdout)
    expected = json.loads((scenario / "expected.json").read_text())
    assert differences(expected, actual) == []


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared scenarios at {SHARED} to compare")
def test_the_copies_match_the_shared_scenarios() -> None:
    shared = sorted(p.name for p in SHARED.iterdir() if p.is_dir())
    assert shared == [p.name for p in SCENARIOS]
    for name in shared:
        comparison = filecmp.dircmp(SHARED / name, HERE / name)
        assert not comparison.left_only and not comparison.right_only, name
        _, mismatch, errors = filecmp.cmpfiles(
            SHARED / name, HERE / name, comparison.common_files, shallow=False
        )
        assert not mismatch and not errors, (name, mismatch, errors)
