"""The benchmarks the docs name, each with the arguments of a run at smoke size and a line
its output must show. Their figures come from full runs, given in docs/ with the full
command; these runs prove only that each command still works from start to end, so a
figure in the docs is never from a benchmark that no longer runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import CACHE, ROOT, TEST_BROKER_PORT

Smoke = tuple[list[str], str]  # arguments, a pattern the output must match

IN_PROCESS: dict[str, Smoke] = {
    "bench.eta": (["--history-days", "3", "--days", "2", "--tail-days", "2"],
                  r"07-port-month: \d+ forecasts.*\n  conditional +\d+ scored"),
    "bench.whatif": (["--sizes", "2000"], r"2,000 messages \(\d+ MB\): \d+ declarations"),
    "bench.inproc": (["--events", "300"], r"inproc: \d+ µs of processor time per input event"),
    "bench.compiled": (["--runs", "1", "--events", "300", "--modules", "ledger"],
                       r"medians: plain \d+ µs, compiled \d+ µs .*compiled / plain \d"),
}
ON_THE_BROKER: dict[str, Smoke] = {
    "bench.pipeline": (["--events", "500", "--latency-events", "500"],
                       r"customs-stream worker .*\(([1-9][\d,]*) delays\)\n"
                       r"pipeline / plain loop: [\d.]+; pipeline / minimal Faust agent: [\d.]+"),
    "bench.scale": (["--declarations", "2000"],
                    r"2,000 declarations on the topic.*\n  caught up from an empty disk .*"
                    r"restart ready in"),
    "bench.recovery": (["--declarations", "2000"],
                       r"recovered from an empty disk and ready in [\d.]+ s"),
    "bench.faults": (["--runs", "1", "--kill-worker", "1", "--restart-broker", "0",
                      "--workers", "1", "--scenario", "tests/scenarios/01-green-channel"],
                     r"run 1 \(seed \d+, \d+s\): ok; audit: \d+ status updates; 0 sequence "
                     r"numbers reused for another view, 0 steps backwards.*\n1 of 1 runs ended "
                     r"right"),
    "bench.sends": (["--records", "2000", "--rounds", "1"],
                    r"medians: a send each [\d.]+ µs, a batch per partition [\d.]+ µs per record"),
    "bench.webhooks": (["--events", "150", "--rate", "50", "--fail-for", "3", "--kills", "1",
                        "--wait", "120"],
                       r"never delivered: 0\nlower sequence after higher: 0\n"
                       r"bad signatures: 0"),
}
# Run at smoke size by a test of their own.
RUN_ELSEWHERE = {"bench.soak": "tests/integration/test_soak.py::test_a_one_minute_soak_ends_right"}


def run_benchmark(module: str, smoke: Smoke) -> str:
    """Run ``python -m module`` at smoke size on the test broker; its output."""
    arguments, shows = smoke
    env = {**os.environ, "CUSTOMS_STREAM_CACHE_DIR": str(CACHE),
           "CUSTOMS_STREAM_BROKER_PORT": str(TEST_BROKER_PORT)}
    done = subprocess.run([sys.executable, "-m", module, *arguments], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=420, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{module}: exit {done.returncode}\n{output[-3000:]}"
    assert re.search(shows, output), f"{module}: no line matches {shows!r}\n{output[-3000:]}"
    return output
