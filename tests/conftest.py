"""Test fixtures. Integration tests run against a real Kafka broker: the local one that
the project starts itself (port 29092, apart from a developer's own on 19092), or the
one named by CUSTOMS_STREAM_TEST_BROKER."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from stream.broker import LocalBroker
from stream.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "customs-stream"
TEST_BROKER_PORT = 29092


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """Bootstrap address of a running broker for the whole test session."""
    external = os.environ.get("CUSTOMS_STREAM_TEST_BROKER")
    if external:
        yield external
        return
    broker = LocalBroker(CACHE, TEST_BROKER_PORT)
    was_running = broker.status().running
    broker.start()
    yield broker.bootstrap
    if not was_running:
        broker.stop()


@pytest.fixture
def settings(kafka: str, tmp_path: Path) -> Settings:
    return Settings(
        broker=kafka, cache_dir=CACHE, data_dir=tmp_path / "worker", web_enabled=False,
        commit_interval=0.2, partitions=4,
    )


@pytest.fixture
async def pipeline_worker(settings: Settings) -> AsyncIterator[tuple[Settings, object]]:
    """A worker process on a fresh topic prefix; topics deleted afterwards."""
    from stream.tools.replay import ReplayRun

    async with ReplayRun(settings) as run:
        yield run.settings, run.worker


POLICY = ROOT / "stream" / "policy.toml"
SCOPE = 'scope = [{ port = "CNNGB", port_area = "BEILUN" }]'


@pytest.fixture
def wider(tmp_path: Path) -> Path:
    """The policy in force, with Shanghai added to the green channel's scope."""
    text = POLICY.read_text()
    assert SCOPE in text
    path = tmp_path / "wider.toml"
    path.write_text(text.replace(SCOPE, SCOPE[:-1] + ', { port = "CNSHA" }]').replace(
        'version = "2026-04-10"', 'version = "2026-12-wider"'))
    return path
