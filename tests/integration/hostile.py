"""A hostile but authorised producer: it may write any bytes, keys and headers to the input
topics, up to the largest message they accept. Helpers to publish as it would and to check
what the pipeline made of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from schemas.events import EVENT_TYPES
from stream.settings import Settings
from stream.tools.replay import read_records
from stream.topics import Topology

INPUTS = ("declarations", "inspections", "releases", "returns", "firms")


@dataclass
class Sent:
    topic: str
    value: bytes
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    partition: int | None = None


async def send_all(settings: Settings, messages: Sequence[Sent]) -> dict[str, Sent]:
    """Publish as a hostile producer would; each message by its ref (topic:partition:offset)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, acks="all",
        max_request_size=settings.max_message_bytes,
    )
    topology = Topology.from_settings(settings)
    await producer.start()
    sent: dict[str, Sent] = {}
    try:
        for message in messages:
            meta = await producer.send_and_wait(
                topology.name(message.topic), message.value, key=message.key,
                partition=message.partition, headers=message.headers,
            )
            sent[f"{message.topic}:{meta.partition}:{meta.offset}"] = message
    finally:
        await producer.stop()
    return sent


@dataclass
class Outcome:
    """What the pipeline published, by the input message (ref) each record names."""

    dead_letters: dict[str, dict[str, Any]]
    repeats: dict[str, dict[str, Any]]
    caused: dict[str, list[dict[str, Any]]]  # status updates, by the input behind them


async def outcome(settings: Settings) -> Outcome:
    topology = Topology.from_settings(settings)
    bootstrap = settings.bootstrap_servers

    def ref(record: dict[str, Any]) -> str:
        return f"{record['source_topic']}:{record['partition']}:{record['offset']}"

    letters = [orjson.loads(r.value) for r in await read_records(
        bootstrap, [topology.name("dead-letters")])]
    repeats = [orjson.loads(r.value) for r in await read_records(
        bootstrap, [topology.name("duplicates")])]
    caused: dict[str, list[dict[str, Any]]] = {}
    for record in await read_records(bootstrap, [topology.name("declaration-status")]):
        cause = dict(record.headers).get("x-caused-by")
        if cause is not None:
            caused.setdefault(cause.decode(), []).append(orjson.loads(record.value))
    return Outcome({ref(d): d for d in letters}, {ref(d): d for d in repeats}, caused)


def event_topic(value: bytes) -> str | None:
    """The topic an event type belongs on, for a body that names one."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("event_type"), str):
        return None
    model = EVENT_TYPES.get(document["event_type"])
    return model.topic if model is not None else None
