"""The read side as declarations pile up (a measurement, not a test).

    python -m bench.scale [--declarations 1000000] [--steps 100000,500000]

On the local broker, under a fresh topic prefix, status updates of N distinct
declarations (the shape the pipeline publishes, 40 buyers) are put on
``declaration-status``; then an API replica (``customs-stream api``) starts on an empty
disk. For each N it prints: the time to catch up (until ``/ready``), the replica's resident
memory once caught up and its peak, the time a restart on the same disk takes to be ready
again, and the latency of ``GET /declarations/{id}`` for random ids at 200 requests/s
while 500 new status updates a second arrive (a busy pipeline).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from bench.harness import memory_mb
from stream.admin import ensure_topics
from stream.broker import LocalBroker
from stream.read.web.auth import add as add_token
from stream.settings import Settings
from stream.tools.replay import delete_topics, isolated
from stream.topics import Topology

ROOT = Path(__file__).resolve().parents[1]
RATE, BUSY_RATE, SECONDS = 200, 500, 20


def declaration_id(n: int) -> str:
    return f"3100{2026:04d}{n:010d}"


def status(n: int, sequence: int = 1) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id(n), "sequence": sequence, "status": "RELEASED",
        "firm_id": f"91330206MA{n % 997:08d}", "buyer_id": f"buyer-{n % 40:03d}",
        "buyer_reference": f"PO-{n}", "port": "CNNGB", "port_area": "BEILUN",
        "channel": "GREEN", "decision": "IMMEDIATE_RELEASE", "decision_reasons": [],
        "eligibility_reasons": [], "declared_at": "2026-05-09T01:00:00Z",
        "released_at": "2026-05-09T04:00:00Z", "clearance_hours": 3.0, "within_24h": True,
        "departed_at": None, "on_schedule": None, "returned": False,
        "tax_refund_eligible": False, "updated_at": "2026-05-09T04:00:01Z",
        "policy_version": "2026-04-10",
    }


async def publish(settings: Settings, numbers: range, sequence: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20,
                                max_batch_size=512 * 1024, compression_type=None)
    await producer.start()
    topic = Topology.from_settings(settings).name("declaration-status")
    try:
        for n in numbers:
            await producer.send(topic, key=declaration_id(n).encode(),
                                value=orjson.dumps(status(n, sequence)))
        await producer.flush()
    finally:
        await producer.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    def __init__(self, settings: Settings, folder: Path, tokens: Path, port: int) -> None:
        self.port = port
        self.env = {**os.environ, "CUSTOMS_STREAM_BROKER": settings.bootstrap_servers,
                    "CUSTOMS_STREAM_TOPIC_PREFIX": settings.topic_prefix,
                    "CUSTOMS_STREAM_DATA_DIR": str(folder),
                    "CUSTOMS_STREAM_TOKENS_FILE": str(tokens),
                    "CUSTOMS_STREAM_WEB_PORT": str(port)}
        self.log = folder / "api.log"
        folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    def _launch(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", "stream", "api"],
                                    env=self.env, stdout=out, stderr=out, cwd=ROOT)

    async def start(self) -> float:
        """Seconds until /ready answers 200."""
        began = time.monotonic()
        self.process = self._launch()
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/ready") as response:
                        if response.status == 200:
                            return time.monotonic() - began
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


async def latencies(port: int, token: str, known: int) -> list[float]:
    """Milliseconds per request, at RATE requests a second for SECONDS."""
    found: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one() -> None:
            path = f"http://127.0.0.1:{port}/declarations/{declaration_id(random.randrange(known))}"
            began = time.perf_counter()
            async with session.get(path) as response:
                await response.read()
                assert response.status == 200, response.status
            found.append((time.perf_counter() - began) * 1000)

        start = time.monotonic()
        tasks = []
        for i in range(RATE * SECONDS):
            await asyncio.sleep(max(0.0, start + i / RATE - time.monotonic()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return found


async def busy(settings: Settings, known: int, stop: asyncio.Event) -> None:
    """New status updates of known declarations, BUSY_RATE a second, until stopped."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    topic = Topology.from_settings(settings).name("declaration-status")
    try:
        sequence = 2
        while not stop.is_set():
            for _ in range(BUSY_RATE // 10):
                n = random.randrange(known)
                await producer.send(topic, key=declaration_id(n).encode(),
                                    value=orjson.dumps(status(n, sequence)))
            sequence += 1
            await asyncio.sleep(0.1)
    finally:
        await producer.stop()


async def measure(settings: Settings, sizes: list[int], folder: Path) -> None:
    tokens = folder / "tokens.toml"
    token, _ = add_token(tokens, "ops", name="bench")
    done = 0
    for size in sizes:
        began = time.monotonic()
        await publish(settings, range(done, size))
        done = size
        print(f"{size:>9,} declarations on the topic ({time.monotonic() - began:.0f} s to "
              "publish)", flush=True)
        replica = Replica(settings, folder / f"replica-{size}", tokens, free_port())
        catch_up = await replica.start()
        assert replica.process is not None
        rss, _ = memory_mb(replica.process.pid)
        stop = asyncio.Event()
        pipeline = asyncio.create_task(busy(settings, size, stop))
        found = sorted(await latencies(replica.port, token, size))
        stop.set()
        await pipeline
        _, peak = memory_mb(replica.process.pid)
        replica.stop()
        resume = await replica.start()
        replica.stop()
        p50, p99 = statistics.median(found), found[int(len(found) * 0.99) - 1]
        print(f"  caught up from an empty disk in {catch_up:.1f} s; RSS {rss:.0f} MB "
              f"(peak {peak:.0f} MB); restart ready in {resume:.1f} s; GET p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms ({len(found):,} requests at {RATE}/s, {BUSY_RATE} updates/s)",
              flush=True)


Measure = Callable[[Settings, list[int], Path], Coroutine[Any, Any, None]]


def arguments(description: str | None = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--declarations", type=int, default=200_000)
    parser.add_argument("--steps", default="", help="smaller sizes first, comma-separated")
    return parser


def run_by_size(measure: Measure, adjust: Callable[[Settings], Settings] = lambda s: s) -> None:
    """Parse ``--declarations``/``--steps``; run ``measure`` on the local broker under a
    fresh topic prefix (settings changed by ``adjust``), then delete its topics."""
    args = arguments(sys.modules[measure.__module__].__doc__).parse_args()
    sizes = sorted({*(int(s) for s in args.steps.split(",") if s), args.declarations})
    base = Settings()
    broker = LocalBroker(base.cache_dir, base.broker_port).start()
    settings = adjust(isolated(base.model_copy(update={"broker": broker.bootstrap})))
    asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
    try:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(measure(settings, sizes, Path(folder)))
    finally:
        asyncio.run(delete_topics(settings))


def main() -> None:
    run_by_size(measure)

if __name__ == "__main__":
    main()
