"""Publishing generated traffic to the input topics at a steady rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from stream import kafka
from stream.settings import Settings
from stream.tools.scenario import Message
from stream.topics import Topology

STOP_WITHIN = 5.0  # seconds the producer may take to stop


async def publish_traffic(
    settings: Settings, messages: Iterable[Message], rate: float,
    duration: float | None = None, limit: int | None = None,
    progress: Callable[[str], None] = lambda _: None, stop: asyncio.Event | None = None,
) -> int:
    """Publish ``messages`` at ``rate`` per second until ``duration`` seconds,
    ``limit`` messages or ``stop``; return how many were published."""
    stop = stop or asyncio.Event()
    topology = Topology.from_settings(settings)
    producer = kafka.producer(
        settings.bootstrap_servers, settings, linger_ms=5,
        max_request_size=settings.max_message_bytes,
    )
    await producer.start()
    sent, started = 0, time.monotonic()
    try:
        for message in messages:
            elapsed = time.monotonic() - started
            out_of_time = duration is not None and elapsed >= duration
            if out_of_time or (limit is not None and sent >= limit):
                break
            ahead = sent / rate - elapsed
            if ahead > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ahead)
            if stop.is_set():
                break
            await producer.send(topology.name(message.topic), value=message.value, key=message.key)
            sent += 1
            if sent % max(1, int(rate * 10)) == 0:
                progress(f"{sent} messages published")
        if not stop.is_set():
            await producer.flush()
    finally:
        # Bounded: stopping is not to wait on a broker that is going away too.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(producer.stop(), STOP_WITHIN)
    return sent
