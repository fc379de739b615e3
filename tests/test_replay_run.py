"""A replay that cannot start says why and leaves nothing open behind it."""

from __future__ import annotations

import gc
import warnings

import pytest

from stream.admin import BrokerUnavailable
from stream.settings import Settings
from stream.tools.replay import ReplayRun


async def test_no_broker_is_a_clear_error_and_closes_the_producer() -> None:
    run = ReplayRun(Settings(broker="127.0.0.1:1"))
    with pytest.raises(BrokerUnavailable, match=r"no Kafka broker answers at 127\.0\.0\.1:1"):
        async with run:
            raise AssertionError("started without a broker")
    assert run.producer._closed  # aiokafka warns "Unclosed AIOKafkaProducer" otherwise
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del run
        gc.collect()
