"""A worker serving HTTP after a real replay, shared by the API and board tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from stream.settings import Settings
from stream.tools.replay import ReplayRun
from stream.tools.scenario import read_scenario
from tests.conftest import CACHE
from tests.integration.test_api import (
    OPS,
    SCENARIOS,
    free_port,
    get,
    other_buyers_steps,
    write_tokens,
)

BUYERS_SITE = "https://erp.buyer.example"  # a dashboard allowed to call the API


def released_total(port: int) -> int:
    status, body = get(port, "/kpis", OPS)
    if status != 200 or not isinstance(body, dict):
        return -1
    return sum(k["released"] for k in body.get("kpis", []))


async def until(check: Any, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    kafka: str, tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[int, ReplayRun]]:
    """A worker serving HTTP, after scenario 01 and 06 have been replayed through it: one
    for each module's tests, which only read from it (a worker each cost CI minutes)."""
    tmp_path = tmp_path_factory.mktemp("served")
    settings = Settings(broker=kafka, cache_dir=CACHE, data_dir=tmp_path / "worker",
                        web_enabled=False, commit_interval=0.2, partitions=4)
    tokens = tmp_path / "tokens.toml"
    write_tokens(tokens)
    port = free_port()
    async with ReplayRun(settings, web_enabled=True, web_port=port, tokens_file=tokens,
                         cors_origins=[BUYERS_SITE]) as run:
        steps = read_scenario(SCENARIOS / "01-green-channel" / "events.jsonl")
        steps += read_scenario(SCENARIOS / "06-bad-input" / "events.jsonl")
        await run.play([*steps, *other_buyers_steps()])
        await until(lambda: get(port, "/declarations/310020260000009003", OPS)[0] == 200)
        # The read model follows the outputs: wait for the KPIs of every release.
        await until(lambda: released_total(port) == 15)
        yield port, run


