"""``connect_admin`` says why no broker answers: nothing listens at the address, or
something does but not over the configured security protocol (a TLS client at the
plaintext test broker once failed three tests as if the broker were down)."""

from __future__ import annotations

import asyncio

import pytest

from stream import kafka as clients
from stream.admin import BrokerUnavailable, connect_admin
from stream.settings import Settings

pytestmark = pytest.mark.broker


async def test_nothing_listening_is_said_at_once() -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(BrokerUnavailable, match=r"no Kafka broker answers at 127\.0\.0\.1:1 "):
        await connect_admin("127.0.0.1:1")
    assert loop.time() - began < 5


async def test_a_plaintext_broker_reached_over_tls_is_told_apart(kafka: str) -> None:
    clients.configure(Settings(kafka_security_protocol="SSL"))
    with pytest.raises(BrokerUnavailable) as refused:
        await connect_admin(kafka)
    said = str(refused.value)
    assert said.startswith(f"something listens at {kafka} but does not take a Kafka "
                           "client over SSL: check CUSTOMS_STREAM_KAFKA_SECURITY_PROTOCOL")


async def test_the_same_broker_over_plaintext_answers(kafka: str) -> None:
    admin = await connect_admin(kafka)
    try:
        assert await admin.list_topics() is not None
    finally:
        await admin.close()
