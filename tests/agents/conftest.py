"""Agent tests with Faust's own test tools (``agent.test_context()``): the agents run in
this process on in-memory tables, through the real outbox and tables, and what reaches
the producer is captured by a double of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from faust.agents.agent import AgentTestWrapper as Agent
from faust.types.tuples import TP

from stream.runtime.batches import partition_for
from stream.runtime.pipeline import Pipeline
from stream.settings import Settings
from stream.worker.app import build_pipeline


@dataclass
class Sent:
    topic: str  # without the pipeline's prefix
    key: str | None
    value: Any  # parsed JSON, or the bytes as they are
    partition: int | None
    headers: dict[str, bytes] | None


class Acknowledged(asyncio.Future[Any]):
    """A producer's delivery future whose callbacks run as soon as it is resolved (an
    asyncio future schedules them for the next turn of the loop): a producer that
    acknowledges a send at once, so an agent's outputs leave within its own turn."""

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        if self.done():
            fn(self)
        else:
            super().add_done_callback(fn, context=context)


@dataclass
class Captured:
    """What reached the producer, in the order it did: the real outbox and tables stand
    between the agents and this double. ``hold`` keeps every delivery pending until the
    test resolves it (``acknowledge``), as a slow broker would."""

    sent: list[Sent] = field(default_factory=list)  # outputs and forwards
    writes: list[Sent] = field(default_factory=list)  # changelog writes
    order: list[str] = field(default_factory=list)  # topics, as they were sent
    hold: bool = False
    pending: list[tuple[Acknowledged, Any]] = field(default_factory=list)

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
        timestamp: Any = None, headers: Any = None,
    ) -> Acknowledged:
        bare = topic.removeprefix("customs.")
        parsed: Any = value
        if value is not None and value[:1] in (b"{", b"["):
            parsed = orjson.loads(value)
        record = Sent(bare, key.decode() if key is not None else None, parsed, partition,
                      dict(headers) if headers else None)
        (self.writes if bare.endswith("-changelog") else self.sent).append(record)
        self.order.append(bare)
        delivery = Acknowledged()
        metadata = SimpleNamespace(
            topic=topic, partition=partition, offset=len(self.order),
            topic_partition=TP(topic, partition or 0),
        )
        if self.hold:
            self.pending.append((delivery, metadata))
        else:
            delivery.set_result(metadata)
        return delivery

    def acknowledge(self) -> None:
        pending, self.pending = self.pending, []
        for delivery, metadata in pending:
            delivery.set_result(metadata)


async def turns_until(done: Any, turns: int = 200) -> None:
    """Run the event loop until ``done()`` holds, for at most ``turns`` turns: the agents
    here do no I/O (the producer double answers at once), so what a test waits for is a
    number of turns away, never a span of time."""
    for _ in range(turns):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"not done within {turns} turns of the event loop")


@pytest.fixture
def pipeline_settings(tmp_path: Path) -> Settings:
    return Settings(web_enabled=False, data_dir=tmp_path, partitions=4, store="memory://")


@pytest.fixture
async def pipeline(
    pipeline_settings: Settings, captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Pipeline]:
    # Built inside the test's running loop: a Faust app bound to another loop is what
    # breaks test_context under pytest-asyncio (faust-streaming #443).
    built = build_pipeline(pipeline_settings)
    built.app.producer = cast(Any, captured)  # outputs and changelog writes reach it
    monkeypatch.setattr(Agent, "to_message", _read_from_its_topic(Agent.to_message))
    built.app.flow_control.resume()
    yield built


# A header only these tests set: the topic (bare name) and offset a message is to be read
# from. The agents see the message as read there; the header itself is taken off.
READ_FROM = "x-test-read-from"


def _read_from_its_topic(to_message: Any) -> Any:
    """Faust's test_context names a many-topic channel's messages "<internal>"; give each
    message the topic and offset it is meant to be read from, as the consumer would."""

    def wrapped(self: Agent, key: Any, value: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        where = headers.pop(READ_FROM, None)
        message = to_message(self, key, value, headers=headers or None, **kwargs)
        if where is not None:
            topic, offset = where.decode().rsplit(":", 1)
            message.topic, message.offset = f"customs.{topic}", int(offset)
        return message

    return wrapped


@pytest.fixture
def captured() -> Captured:
    return Captured()


def read_from(topic: str, key: str | None, offset: int, partitions: int = 4,
              partition: int | None = None,
              headers: dict[str, bytes] | None = None) -> dict[str, Any]:
    """put() arguments for a message read from ``topic`` at ``offset``, with ``headers``
    as the producer gave them."""
    if partition is None:
        partition = partition_for(key, partitions) if key else 0
    return {
        "key": key.encode() if key else None,
        "partition": partition,
        "headers": {**(headers or {}), READ_FROM: f"{topic}:{offset}".encode()},
    }
