"""The benchmarks that need no broker, run at smoke size (``tests/benchmarks.py``)."""

from __future__ import annotations

import pytest

from tests.benchmarks import IN_PROCESS, Smoke, run_benchmark


@pytest.mark.timeout(480)
@pytest.mark.parametrize(("module", "smoke"), IN_PROCESS.items(), ids=list(IN_PROCESS))
def test_the_benchmark_runs_at_smoke_size(module: str, smoke: Smoke) -> None:
    run_benchmark(module, smoke)
