"""Agent tests with Faust's own test tools (``agent.test_context()``): the agents run in
this process on in-memory tables, and what they publish is captured at the Outlet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from faust.agents.agent import AgentTestWrapper as Agent
from pydantic import BaseModel

from stream.agents.common import Outlet, partition_for
from stream.app import build_pipeline
from stream.outbox import HeldTable
from stream.pipeline import Pipeline
from stream.settings import Settings


@dataclass
class Sent:
    topic: str
    key: str | None
    value: Any
    partition: int | None
    headers: dict[str, bytes] | None


@dataclass
class Captured:
    sent: list[Sent] = field(default_factory=list)

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@pytest.fixture
def pipeline_settings(tmp_path: Path) -> Settings:
    return Settings(web_enabled=False, data_dir=tmp_path, partitions=4, store="memory://")


@pytest.fixture
async def pipeline(
    pipeline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Pipeline]:
    # Built inside the test's running loop: a Faust app bound to another loop is what
    # breaks test_context under pytest-asyncio (faust-streaming #443).
    built = build_pipeline(pipeline_settings)

    async def on_its_way(*_: Any) -> None:
        """No broker stands behind agent tests: a changelog write stays on its way."""

    monkeypatch.setattr(HeldTable, "_write", on_its_way)
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
def captured(monkeypatch: pytest.MonkeyPatch) -> Captured:
    record = Captured()

    async def send(
        self: Outlet, topic: str, key: str | None, value: Any,
        partition: int | None = None, headers: dict[str, bytes] | None = None,
    ) -> None:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, bytes):
            value = orjson.loads(value) if value[:1] in (b"{", b"[") else value
        record.sent.append(Sent(topic, key, value, partition, headers))

    monkeypatch.setattr(Outlet, "send", send)
    return record


def read_from(topic: str, key: str | None, offset: int, partitions: int = 4,
              partition: int | None = None) -> dict[str, Any]:
    """put() arguments for a message read from ``topic`` at ``offset``."""
    if partition is None:
        partition = partition_for(key, partitions) if key else 0
    return {
        "key": key.encode() if key else None,
        "partition": partition,
        "headers": {READ_FROM: f"{topic}:{offset}".encode()},
    }
