"""Kafka administration the pipeline needs: declare its topics, and tell how far a
consumer group has got (what ``replay`` waits on at a barrier)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from stream import kafka
from stream.topics import SPECS, Topology


class BrokerUnavailable(RuntimeError):
    """No Kafka broker answers at the configured address."""


async def connect_admin(bootstrap: str, timeout: float = 15.0) -> AIOKafkaAdminClient:
    """An admin client of the broker at ``bootstrap``, or ``BrokerUnavailable`` saying
    why not: nothing listens there, or something listens but does not take a Kafka client
    over the configured security (a TLS client at a plaintext listener, say)."""
    admin = kafka.admin(bootstrap)
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        await admin.close()
        raise BrokerUnavailable(await _why_unavailable(bootstrap)) from exc
    return admin


async def _why_unavailable(bootstrap: str) -> str:
    if not await _listening(bootstrap):
        return (f"no Kafka broker answers at {bootstrap} (start one with "
                "`customs-stream broker start`, or set CUSTOMS_STREAM_BROKER)")
    protocol = kafka.configured().kafka_security_protocol
    return (f"something listens at {bootstrap} but does not take a Kafka client over "
            f"{protocol}: check CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL against the broker's "
            "listener, and the CA file and credentials (CUSTOMS_STREAM_KAFKA_*)")


async def _listening(bootstrap: str) -> bool:
    """Whether anything accepts a connection at one of ``bootstrap``'s addresses."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        if port.isdigit() and await asyncio.to_thread(listening, host, int(port), 5.0):
            return True
    return False


def listening(host: str, port: int, timeout: float) -> bool:
    """Whether anything accepts a TCP connection at ``host:port`` within ``timeout``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class TopologyError(RuntimeError):
    """Existing topics do not match the pipeline's topology."""


async def check_partitions(admin: AIOKafkaAdminClient, topology: Topology) -> None:
    """Stop on topics whose partition count is not the topology's: a key would be
    looked for in one partition and found in another (re-keyed round and round)."""
    expected = {topology.name(spec.name): topology.partitions_of(spec) for spec in SPECS}
    found = {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(list(expected))
             if d["error_code"] == 0}
    wrong = sorted(f"{t} has {n}, not {expected[t]}" for t, n in found.items() if n != expected[t])
    if wrong:
        raise TopologyError(
            "topics do not have the partitions this pipeline is set up for "
            f"(CUSTOMS_STREAM_PARTITIONS={topology.partitions}): {'; '.join(wrong)}"
        )


async def ensure_topics(bootstrap: str, topology: Topology) -> list[str]:
    """Create the pipeline's topics that do not exist yet, and check the partition
    counts of them all; return the names created."""
    admin = await connect_admin(bootstrap)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                topology.name(spec.name),
                num_partitions=topology.partitions_of(spec),
                replication_factor=topology.replication_factor,
                topic_configs=topology.config_of(spec),
            )
            for spec in SPECS
            if topology.name(spec.name) not in existing
        ]
        if wanted:
            # Another worker may win the race; theirs is the same topology.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
            await _wait_for_leaders(admin, [t.name for t in wanted])
        await check_partitions(admin, topology)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def topic_partitions(
    admin: AIOKafkaAdminClient, topics: Iterable[str]
) -> list[TopicPartition]:
    """Every partition of the named topics; raises if one of them does not exist."""
    described = await admin.describe_topics(list(topics))
    missing = [d["topic"] for d in described if d["error_code"] != 0]
    if missing:
        raise KeyError(f"topics not found: {', '.join(missing)}")
    return [
        TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
    ]


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], timeout: float = 30.0
) -> None:
    """New topics take a moment to get partition leaders; producing before that only
    earns retries and warnings."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(topics)
        if all(
            d["error_code"] == 0 and d["partitions"]
            and all(p["leader"] >= 0 for p in d["partitions"])
            for d in described
        ):
            return
        await asyncio.sleep(0.1)


async def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> dict[str, int]:
    """Messages not yet committed by ``group``, per topic.

    Committed offsets are read *before* end offsets: anything the pipeline produced
    while processing a message is flushed before that message's offset is committed,
    so it is already counted in the end offsets read afterwards.
    """
    admin = await connect_admin(bootstrap)
    consumer = kafka.consumer(bootstrap, enable_auto_commit=False)
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = await topic_partitions(admin, topics)
        await consumer.start()
        # Assigned first, so that aiokafka asks the metadata of every topic at once: for
        # a topic it does not know yet, end_offsets asks again one topic per retry
        # backoff (100 ms), 1.7 s for the pipeline's 17 topics at every barrier.
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    lag: dict[str, int] = {}
    for tp, end in ends.items():
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - done)
    return lag


async def partition_replicas(bootstrap: str, topics: Iterable[str]) -> list[dict[str, Any]]:
    """Each partition of the topics as the cluster describes it now: ``leader``,
    ``replicas``, ``isr`` (node ids)."""
    admin = await connect_admin(bootstrap)
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [p for d in described if d["error_code"] == 0 for p in d["partitions"]]


async def topics_named(bootstrap: str, *prefixes: str) -> list[str]:
    admin = await connect_admin(bootstrap)
    try:
        return [t for t in await admin.list_topics() if t.startswith(prefixes)]
    finally:
        await admin.close()
