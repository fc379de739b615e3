"""The fault harness in CI: scenario 07 through two workers while one is SIGKILLed twice
(the second time while it is still recovering) and the broker is SIGKILLed once; the
result must be the expected document and the buyer's audit clean. The broker killed is
one of this test's own: the suite's shared broker serves the tests running beside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from stream.broker import LocalBroker
from tests.conftest import CACHE, ROOT, external_broker

SCENARIO = ROOT / "tests" / "scenarios" / "07-port-month"
OWN_BROKER_PORT = 29292


@pytest.fixture
def own_broker(kafka: str) -> Iterator[str]:  # kafka: the jars are fetched
    """A broker of this test's own, or the external one (which it cannot restart)."""
    if external_broker():
        yield kafka
        return
    broker = LocalBroker(CACHE, OWN_BROKER_PORT)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.mark.timeout(600)
def test_a_scenario_ends_right_through_worker_and_broker_kills(own_broker: str) -> None:
    # Against a broker of someone else's (CUSTOMS_STREAM_TEST_BROKER) this test cannot
    # restart it: then it kills workers only (the faults line says how many of each).
    restarts = "0" if external_broker() else "1"
    env = {**os.environ, "CUSTOMS_STREAM_BROKER": own_broker,
           "CUSTOMS_STREAM_CACHE_DIR": str(CACHE)}
    result = subprocess.run(
        [sys.executable, "-m", "stream", "replay", str(SCENARIO / "events.jsonl"),
         "--expect", str(SCENARIO / "expected.json"),
         "--kill-worker", "2", "--restart-broker", restarts, "--workers", "2", "--seed", "11"],
        env=env, capture_output=True, text=True, timeout=580, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "result agrees with the expected document" in result.stderr
    faults = re.search(r"faults: (\d+) worker kills, (\d+) broker restarts", result.stderr)
    assert faults is not None and faults.groups() == ("2", restarts), result.stderr[-2000:]
    audit = re.search(r"audit: (\d+) status updates; (\d+) sequence numbers reused for "
                      r"another view, (\d+) steps backwards", result.stderr)
    assert audit is not None and int(audit[1]) > 0 and audit.group(2, 3) == ("0", "0")
