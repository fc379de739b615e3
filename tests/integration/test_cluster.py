"""A local three-node cluster: `broker start --brokers 3`, topics replicated three times,
and the fault harness killing the busiest partition leader under load."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from stream import kafka as clients
from stream.admin import ensure_topics, partition_replicas
from stream.broker.secure import users
from stream.settings import Settings
from stream.topics import Topology
from tests.conftest import CACHE, ROOT

PORT = 29692  # nodes at 29692, 29694, 29696 (controllers one above each)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUSTOMS_STREAM_BROKER_PORT": str(PORT),
           "CUSTOMS_STREAM_CACHE_DIR": str(CACHE)}
    return subprocess.run(
        [sys.executable, "-m", "stream", "broker", *args], env=env, capture_output=True,
        text=True, timeout=240,
    )


@pytest.mark.timeout(400)
def test_a_secured_cluster_starts_replicates_and_stops(kafka: str) -> None:  # jars fetched
    bootstrap = f"127.0.0.1:{PORT},127.0.0.1:{PORT + 2},127.0.0.1:{PORT + 4}"
    home = CACHE / f"cluster-{PORT}-secure"
    shutil.rmtree(home, ignore_errors=True)
    try:
        started = cli("start", "--brokers", "3", "--secure")
        assert started.returncode == 0, started.stderr
        assert started.stdout.count("broker running") == 3, started.stdout
        assert f"CUSTOMS_STREAM_BROKER={bootstrap} CUSTOMS_STREAM_REPLICATION_FACTOR=3 " \
               "CUSTOMS_STREAM_MIN_INSYNC_REPLICAS=2" in started.stdout, started.stdout
        status = cli("status", "--secure")  # finds the cluster without being told its size
        assert status.returncode == 0 and status.stdout.count("broker running") == 3, status
        # The pipeline's user makes its topics, replicated on the three nodes; the ERP's
        # user writes a declaration that two replicas at least acknowledge.
        pipeline, erp = (user_settings(home, bootstrap, user) for user in ("pipeline", "erp"))
        topology = Topology.from_settings(pipeline)
        before = clients.configured()
        clients.configure(pipeline)  # the admin client's credentials
        try:
            asyncio.run(ensure_topics(pipeline.bootstrap_servers, topology))
            partitions = asyncio.run(partition_replicas(
                pipeline.bootstrap_servers, [topology.name("declarations")]))
        finally:
            clients.configure(before)
        assert len(partitions) == pipeline.partitions
        assert all(sorted(p["replicas"]) == [1, 2, 3] for p in partitions), partitions
        assert len({p["leader"] for p in partitions}) > 1  # leaders spread over the nodes
        asyncio.run(send(erp, topology.name("declarations")))
    finally:
        stopped = cli("stop", "--secure")
        shutil.rmtree(home, ignore_errors=True)
    assert stopped.returncode == 0 and stopped.stdout.strip() == "broker stopped", stopped
    after = cli("status", "--secure", "--brokers", "3")
    assert after.returncode == 1 and after.stdout.count("not running") == 3, after


def user_settings(home: Path, bootstrap: str, user: str) -> Settings:
    return Settings(
        broker=bootstrap, topic_prefix="customs", app_id="customs-stream",
        replication_factor=3, min_insync_replicas=2,
        kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_username=user, kafka_password=SecretStr(users(home)[user]),
        kafka_ca_file=home / "tls" / "ca.pem",
    )


async def send(settings: Settings, topic: str) -> None:
    producer = clients.producer(settings.bootstrap_servers, settings)
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"k"), 30)
    finally:
        await producer.stop()


@pytest.mark.timeout(900)
def test_a_scenario_ends_right_through_a_leader_kill(kafka: str) -> None:
    """The harness's own cluster (ports apart from the test broker, which keeps running):
    scenario 03 through two workers while the busiest leader is SIGKILLed once; the
    result must be the expected document and the audit clean. (Workers killed on a
    cluster: the soak test.)"""
    scenario = ROOT / "tests" / "scenarios" / "03-returns-inter-district"
    env = {**os.environ, "CUSTOMS_STREAM_CACHE_DIR": str(CACHE),
           "CUSTOMS_STREAM_BROKER_PORT": "29092"}  # the cluster: 29592 to 29597
    result = subprocess.run(
        [sys.executable, "-m", "stream", "replay", str(scenario / "events.jsonl"),
         "--expect", str(scenario / "expected.json"), "--brokers", "3", "--kill-broker", "1",
         "--workers", "2", "--seed", "5"],
        env=env, capture_output=True, text=True, timeout=880, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "result agrees with the expected document" in result.stderr
    assert re.search(r"SIGKILLed node \d, the busiest leader", result.stderr), result.stderr
    faults = re.search(r"faults: (\d+) worker kills, 0 broker restarts, (\d+) leader kills",
                       result.stderr)
    assert faults is not None and faults.groups() == ("0", "1"), result.stderr[-2000:]
    audit = re.search(r"audit: (\d+) status updates; (\d+) sequence numbers reused for "
                      r"another view, (\d+) steps backwards", result.stderr)
    assert audit is not None and int(audit[1]) > 0 and audit.group(2, 3) == ("0", "0")
