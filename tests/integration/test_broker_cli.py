"""`customs-stream broker start/status/stop` on a port of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from stream.broker import kafka_version, launcher
from stream.broker.launcher import LocalBroker
from tests.conftest import CACHE


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTOMS_STREAM_BROKER_PORT": "29192",
           "CUSTOMS_STREAM_CACHE_DIR": str(CACHE)}
    return subprocess.run(
        [sys.executable, "-m", "stream", "broker", *args], env=env, capture_output=True,
        text=True, timeout=180,
    )


def test_start_status_stop(kafka: str) -> None:  # kafka: the jars are fetched already
    try:
        started = cli("start")
        assert started.returncode == 0, started.stderr
        assert "at 127.0.0.1:29192" in started.stdout, started.stdout
        assert (CACHE / f"kafka-{kafka_version()}" / "lib" / ".complete").exists()
        again = cli("start")  # idempotent: reports the running broker
        assert again.returncode == 0 and again.stdout == started.stdout, (again, started)
        status = cli("status")
        assert status.returncode == 0 and "broker running" in status.stdout, status
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "broker stopped", stopped
    after = cli("status")
    assert after.returncode == 1 and "not running" in after.stdout, after
    assert cli("stop").stdout.strip() == "no broker was running"


def test_storage_formats_with_a_cluster_id_that_starts_with_a_dash(
    kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random ids start with "-" one time in 64; the format command must take them."""
    broker = LocalBroker(CACHE, 29492)
    shutil.rmtree(broker.home, ignore_errors=True)
    monkeypatch.setattr(launcher, "new_cluster_id", lambda: "-bcdefghijklmnopqrstuv")
    try:
        broker._format_storage(broker._write_config())
        meta = (broker.data_dir / "meta.properties").read_text()
    finally:
        shutil.rmtree(broker.home, ignore_errors=True)
    assert "cluster.id=-bcdefghijklmnopqrstuv" in meta, meta
