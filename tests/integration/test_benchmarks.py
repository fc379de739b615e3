"""The benchmarks that run on the broker, at smoke size on the test broker
(``tests/benchmarks.py``)."""

from __future__ import annotations

import pytest

from tests.benchmarks import ON_THE_BROKER, Smoke, run_benchmark


@pytest.mark.timeout(480)
@pytest.mark.parametrize(("module", "smoke"), ON_THE_BROKER.items(), ids=list(ON_THE_BROKER))
def test_the_benchmark_runs_at_smoke_size(kafka: str, module: str, smoke: Smoke) -> None:
    run_benchmark(module, smoke)
