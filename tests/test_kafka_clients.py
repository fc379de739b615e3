"""Every Kafka client the project makes is made in ``stream/kafka.py``, with delivery
settings that outlast a leader election (the Faust app's producer: fix 9)."""

from __future__ import annotations

import ast
from pathlib import Path

from stream import kafka
from stream.settings import Settings

PACKAGE = Path(kafka.__file__).parent
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


def made_outside_the_one_place() -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path == Path(kafka.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in CLIENTS:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    return found


def test_no_client_is_made_anywhere_else() -> None:
    assert made_outside_the_one_place() == []


async def test_a_producer_waits_for_every_replica_and_is_idempotent() -> None:
    producer = kafka.producer("127.0.0.1:1", linger_ms=5, acks=1, enable_idempotence=False)
    try:
        assert producer._txn_manager is not None  # idempotent, whatever was asked
        assert producer.client._request_timeout_ms == kafka.REQUEST_TIMEOUT_MS
        assert producer._sender._acks == -1  # all in-sync replicas
    finally:
        await producer.stop()


async def test_consumers_and_admin_outlast_a_leader_election() -> None:
    consumer = kafka.consumer("127.0.0.1:1", "a-topic", request_timeout_ms=1000)
    admin = kafka.admin("127.0.0.1:1")
    try:
        assert consumer._client._request_timeout_ms == kafka.REQUEST_TIMEOUT_MS
        assert admin._client._request_timeout_ms == kafka.REQUEST_TIMEOUT_MS
    finally:
        await consumer.stop()
        await admin.close()


LEFT_BEHIND = "set-by-the-test-before"


def test_a_test_may_configure_the_process_s_security() -> None:
    """The first of a pair (one module runs in one process, in order): the next test
    finds it undone (tests/conftest.py)."""
    kafka.configure(Settings(kafka_security_protocol="SSL", kafka_username=LEFT_BEHIND))
    assert kafka.client_options()["security_protocol"] == "SSL"


def test_the_next_test_finds_the_security_it_had_before() -> None:
    assert kafka.configured().kafka_username != LEFT_BEHIND
