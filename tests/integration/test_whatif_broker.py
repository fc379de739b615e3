"""``customs-stream whatif --from-broker``: the input topics read on the real broker, with
nothing written there, give the same report as the events file they were published from."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.admin import connect_admin, ensure_topics
from stream.settings import Settings
from stream.tools.replay import _publish, delete_topics, isolated
from stream.tools.scenario import INPUT_TOPICS, Message, read_scenario
from stream.topics import Topology
from tests.integration.test_commands import command_env, run_command
from tests.whatif.test_command import MONTH, whatif

pytestmark = pytest.mark.broker


@pytest.fixture
async def recorded(settings: Settings) -> AsyncIterator[Settings]:
    """Scenario 07's messages published to the input topics of a fresh prefix."""
    mine = isolated(settings)
    topology = Topology.from_settings(mine)
    await ensure_topics(mine.bootstrap_servers, topology)
    producer = AIOKafkaProducer(bootstrap_servers=mine.bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = [await _publish(producer, topology, m) for m in read_scenario(MONTH)
                if isinstance(m, Message)]
        await producer.flush()
        assert all(f.done() and f.exception() is None for f in sent)
    finally:
        await producer.stop()
    # What whatif reads is what the end offsets show at its start: wait until they show
    # every message (on a fresh broker they may trail the producer's acknowledgements).
    deadline = asyncio.get_running_loop().time() + 30
    while (shown := await visible(mine, topology)) < len(sent):
        assert asyncio.get_running_loop().time() < deadline, f"{shown} of {len(sent)} shown"
        await asyncio.sleep(0.2)
    yield mine
    await delete_topics(mine)


async def visible(settings: Settings, topology: Topology) -> int:
    """Messages on the input topics, by their end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        partitions = [TopicPartition(topology.name(topic), p) for topic in INPUT_TOPICS
                      for p in range(topology.partitions)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def groups_reading(bootstrap: str, prefix: str) -> list[str]:
    """The consumer groups with offsets committed on topics of ``prefix`` (the tests
    beside this one make groups of their own on the same broker)."""
    admin = await connect_admin(bootstrap)
    try:
        found = []
        for group, _ in await admin.list_consumer_groups():
            offsets = await admin.list_consumer_group_offsets(group)
            if any(tp.topic.startswith(f"{prefix}.") for tp in offsets):
                found.append(group)
        return found
    finally:
        await admin.close()


async def test_the_broker_source_reports_what_the_file_does(
    recorded: Settings, wider: Path, kafka: str
) -> None:
    env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX=recorded.topic_prefix)
    done = await run_command(["whatif", "--policy", str(wider), "--from-broker", "--json"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    # read without a consumer group: nothing committed
    assert await groups_reading(kafka, recorded.topic_prefix) == []
    from_broker = json.loads(done.stdout)
    _, out, _ = whatif("--policy", str(wider), str(MONTH), "--json")
    from_file = json.loads(out)
    assert from_broker.pop("source") == (
        f"the input topics {recorded.topic_prefix}.* at {kafka}")
    from_file.pop("source")
    assert from_broker == from_file and from_file["changed"] > 0


async def test_a_prefix_without_topics_is_a_clear_error(wider: Path, kafka: str) -> None:
    env = command_env(kafka, CUSTOMS_STREAM_TOPIC_PREFIX="no-such-prefix")
    done = await run_command(["whatif", "--policy", str(wider), "--from-broker"], env)
    assert done.returncode == 1
    assert "topics not found: " in done.stderr and "no-such-prefix.declarations" in done.stderr
    assert "is the topic prefix 'no-such-prefix' right?" in done.stderr


async def test_no_broker_is_a_clear_error(wider: Path, kafka: str) -> None:
    env = command_env("127.0.0.1:1", CUSTOMS_STREAM_TOPIC_PREFIX="whatever")
    done = await run_command(["whatif", "--policy", str(wider), "--from-broker"], env)
    assert done.returncode == 1 and "no Kafka broker answers at 127.0.0.1:1" in done.stderr
