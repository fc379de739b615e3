"""Fix 11: a fetch waits a moment for more records (checked against faust-streaming
0.15.3; no upstream issue). Faust builds the worker's aiokafka consumer with
``fetch_max_wait_ms=1500`` and leaves ``fetch_min_bytes`` at aiokafka's 1: the broker
answers a fetch as soon as one record is there. Below capacity, with records arriving
one by one, every fetch then brings one or two, and each costs a fetch request, the
consumer thread's processing of it (holding the GIL the agents need), a hand-over to the
agents' loop and a seal of its own: changelog records, a produce request, outputs for
one or two messages. The worker ran at its limit at 1,000 events/s while it sustains
twice that from a backlog (``bench.pipeline``'s delay phase: 930 µs of processor time
per event against 550).

The worker's consumer asks the broker for ``CUSTOMS_STREAM_FETCH_MIN_BYTES`` and waits
at most ``CUSTOMS_STREAM_FETCH_WAIT_MS`` for them: a record waits that long at most
before it is fetched, and with a backlog the broker answers at once, as before."""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from stream.runtime.faust_fixes.base import faust_original

# Faust's Settings keep attributes set on them; these two are the project's own.
MIN_BYTES, WAIT_MS = "cs_fetch_min_bytes", "cs_fetch_wait_ms"


def ask(app: Any, min_bytes: int, wait_ms: int) -> None:
    """What the app's worker consumer asks of each fetch."""
    setattr(app.conf, MIN_BYTES, min_bytes)
    setattr(app.conf, WAIT_MS, wait_ms)


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = faust_original(AIOKafkaConsumerThread, "_create_worker_consumer")(
        self, transport)
    conf = self.app.conf
    if hasattr(conf, MIN_BYTES):  # aiokafka hands both to its fetcher when it starts
        consumer._fetch_min_bytes = getattr(conf, MIN_BYTES)
        consumer._fetch_max_wait_ms = getattr(conf, WAIT_MS)
    return consumer


PATCHES: list[tuple[type, str, Any]] = [
    (AIOKafkaConsumerThread, "_create_worker_consumer", _create_worker_consumer),
]
