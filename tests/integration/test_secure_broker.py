"""The secured broker (``broker start --secure``): SASL_SSL with SCRAM users and ACLs per
principal. A scenario runs end to end as the ``pipeline`` user and agrees; each principal
can do what it is for and nothing else; without credentials nothing connects."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from stream.admin import ensure_topics
from stream.broker import LocalBroker
from stream.broker.secure import client_settings
from stream.kafka import client_options
from stream.replay import ReplayRun
from stream.scenario import differences, read_scenario
from stream.settings import Settings
from stream.topics import Topology
from tests.conftest import CACHE

SECURE_PORT = 29392
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "01-green-channel"
PREFIX, APP = "secured", "secured-app"


@pytest.fixture(scope="module")
def secured() -> Iterator[LocalBroker]:
    broker = LocalBroker(CACHE, SECURE_PORT, secure=True)
    was_running = broker.status().running
    broker.start()
    broker.grant(PREFIX, APP)
    yield broker
    if not was_running:
        broker.stop()


def as_user(broker: LocalBroker, user: str, **changes: Any) -> Settings:
    base = Settings(broker=broker.bootstrap, topic_prefix=PREFIX, app_id=APP, cache_dir=CACHE)
    return client_settings(base, broker.home, user).model_copy(update=changes)


async def send(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                                request_timeout_ms=8000, **client_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(f"{PREFIX}.{topic}", b"{}", key=b"k")
    finally:
        await producer.stop()


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                request_timeout_ms=8000, **client_options(settings))
    await consumer.start()
    try:
        return await asyncio.wait_for(
            consumer.end_offsets([TopicPartition(f"{PREFIX}.{topic}", 0)]), 10
        )
    finally:
        await consumer.stop()


async def test_a_scenario_agrees_through_the_secured_broker(
    secured: LocalBroker, tmp_path: Path
) -> None:
    pipeline = as_user(secured, "pipeline", data_dir=tmp_path / "worker", commit_interval=0.2)
    run = ReplayRun(pipeline, keep_topics=True, publisher=as_user(secured, "admin"))
    secured.grant(run.settings.topic_prefix, run.settings.app_id)
    async with run:
        await run.play(read_scenario(SCENARIO / "events.jsonl"))
        result = await run.result()
    assert differences(json.loads((SCENARIO / "expected.json").read_text()), result) == []


async def test_each_principal_may_do_what_it_is_for_and_nothing_else(
    secured: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)  # aiokafka logs each refusal again and again
    pipeline = as_user(secured, "pipeline")
    await ensure_topics(pipeline.bootstrap_servers, Topology.from_settings(pipeline))
    await send(as_user(secured, "erp"), "declarations")
    await send(as_user(secured, "customs"), "releases")
    for user, topic in (("erp", "releases"), ("customs", "declarations"),
                        ("certifier", "releases"), ("dashboard", "declaration-status"),
                        ("pipeline", "releases")):
        with pytest.raises(KafkaError):
            await send(as_user(secured, user), topic)
    assert await end_offsets(as_user(secured, "dashboard"), "declaration-status") is not None
    with pytest.raises((KafkaError, TimeoutError)):
        await end_offsets(as_user(secured, "dashboard"), "declarations")


async def test_nothing_connects_without_valid_credentials(
    secured: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL)
    plain = Settings(broker=secured.bootstrap)
    wrong = as_user(secured, "erp", kafka_password=SecretStr("not-the-password"))
    tls_only = as_user(secured, "erp", kafka_security_protocol="SSL")
    for settings in (plain, wrong, tls_only):
        with pytest.raises((KafkaError, TimeoutError, OSError)):
            await asyncio.wait_for(send(settings, "declarations"), 20)
