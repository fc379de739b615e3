"""Test fixtures. Integration tests run against a real Kafka broker: the local one that
the project starts itself (port 29092, apart from a developer's own on 19092), or the
one named by CUSTOMS_STREAM_TEST_BROKER."""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stream import kafka as clients
from stream.broker import LocalBroker
from stream.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "customs-stream"
TEST_BROKER_PORT = 29092


def external_broker() -> str | None:
    """The broker named by CUSTOMS_STREAM_TEST_BROKER, someone else's: not to restart."""
    return os.environ.get("CUSTOMS_STREAM_TEST_BROKER") or None


def names_a_test(target: str) -> bool:
    """Whether ``path::test`` names a test function that exists."""
    path, test = target.split("::")
    return f"def {test}(" in (ROOT / path).read_text()


@contextmanager
def _one_process_at_a_time(lock: Path) -> Iterator[None]:
    """Held by one test process at a time (the suite runs in two, pytest-xdist)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def kafka() -> str:
    """Bootstrap address of a running broker for the whole test session: the first test
    process that needs it starts it (fetching Kafka on a fresh machine), the others wait
    for that and share it; the session's main process stops it at the end."""
    external = external_broker()
    if external:
        return external
    broker = LocalBroker(CACHE, TEST_BROKER_PORT)
    with _one_process_at_a_time(CACHE / "test-broker.lock"):
        broker.start()
    return broker.bootstrap


@pytest.fixture(autouse=True)
def _kafka_security_left_as_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test leaves the process's Kafka security (``stream.kafka.configure``) as it
    found it. xdist runs many modules in one process: a replay on the secured broker once
    left SASL_SSL configured, and the later tests of that process spoke TLS to the
    plaintext test broker, which refused them as ``BrokerUnavailable``."""
    monkeypatch.setattr(clients, "_configured", clients._configured)


_BROKER_WAS_RUNNING = pytest.StashKey[bool]()


def _is_main_process(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")  # an xdist worker has its input


def pytest_sessionstart(session: pytest.Session) -> None:
    if _is_main_process(session.config) and not external_broker():
        running = LocalBroker(CACHE, TEST_BROKER_PORT).status().running
        session.config.stash[_BROKER_WAS_RUNNING] = running


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the test broker if this session started it (a developer's running one stays)."""
    if _is_main_process(session.config) and not session.config.stash.get(
            _BROKER_WAS_RUNNING, True):
        LocalBroker(CACHE, TEST_BROKER_PORT).stop()


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
