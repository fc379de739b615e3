"""``connect_admin`` tries a failed bootstrap again until its time is up: aiokafka gives
up at the first, and a busy broker can fail one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from stream import admin as admin_module
from stream import kafka as clients
from stream.admin import BrokerUnavailable, connect_admin


class Admin:
    def __init__(self, fails: bool, log: list[str]) -> None:
        self.fails, self.log = fails, log

    async def start(self) -> None:
        self.log.append("start")
        if self.fails:
            raise KafkaConnectionError("Unable to bootstrap")

    async def close(self) -> None:
        self.log.append("close")


async def listening(_: str) -> bool:
    return True  # something accepts connections there: a broker, busy


async def test_nothing_listening_is_said_at_once() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(BrokerUnavailable, match=r"no Kafka broker answers at 127\.0\.0\.1:1"):
        await connect_admin("127.0.0.1:1")
    assert loop.time() - began < 5


async def test_a_failed_bootstrap_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    outcomes = iter([True, True, False])  # fails twice, then answers
    monkeypatch.setattr(clients, "admin", lambda _: Admin(next(outcomes), log))
    monkeypatch.setattr(admin_module, "_BOOTSTRAP_RETRY", 0.01)
    monkeypatch.setattr(admin_module, "_listening", listening)
    connected: Any = await connect_admin("127.0.0.1:9", timeout=5)
    assert isinstance(connected, Admin) and not connected.fails
    assert log == ["start", "close", "start", "close", "start"]  # each failed one closed


async def test_no_broker_within_the_time_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    monkeypatch.setattr(clients, "admin", lambda _: Admin(True, log))
    monkeypatch.setattr(admin_module, "_BOOTSTRAP_RETRY", 0.01)
    monkeypatch.setattr(admin_module, "_listening", listening)
    with pytest.raises(BrokerUnavailable, match=r"no Kafka broker answers at 127\.0\.0\.1:9"):
        await connect_admin("127.0.0.1:9", timeout=0.2)
    assert log.count("start") > 1 and log.count("start") == log.count("close")
