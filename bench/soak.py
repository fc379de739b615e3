"""A soak on a three-node cluster (a benchmark, not a test).

    python -m bench.soak [--minutes 30] [--rate 20] [--every 180] [--seed 7] [--spare-worker]

Simulated traffic at a steady rate through two workers (RocksDB tables) and an API
replica, on a cluster of the run's own (``stream.tools.cluster_faults``); every
``--every`` seconds, at a random moment of that span, the busiest partition leader or a
worker is SIGKILLed and restarted. Every minute it prints the consumer lag, each
worker's resident memory, status updates a second, the API replica's readiness and the
buyer's audit counts. At the end the same messages are replayed on the same cluster
with no fault; the final statuses must be equal, and the audit must find 0 sequence
numbers reused and 0 steps backwards. Exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from stream.admin import group_lag
from stream.settings import Settings
from stream.tools.audit import audit_status_topic
from stream.tools.faults import FaultPlan, FaultyReplay
from stream.tools.replay import replay, wait_until_processed
from stream.tools.scenario import Message, differences
from stream.tools.simulate import Traffic
from stream.worker.process import WorkerProcess


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A soak on a three-node cluster")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="input messages a second")
    parser.add_argument("--every", type=float, default=180.0,
                        help="seconds between two kills (each at a random moment)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spare-worker", action="store_true",
                        help="never kill worker 0, so that its memory is seen over the "
                        "whole run")
    parser.add_argument("--api-port", type=int, default=6166)
    return parser


def rss_mib(worker: WorkerProcess) -> float | None:
    process = worker.process
    if process is None or process.poll() is not None:
        return None
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return int(kib) / 1024


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


class Soak:
    def __init__(self, run: FaultyReplay, args: argparse.Namespace) -> None:
        self.run, self.args = run, args
        self.rng = random.Random(args.seed)
        self.began = time.monotonic()
        self.kills: list[str] = []
        self.stopping = asyncio.Event()
        self.rss: list[tuple[int, list[float | None]]] = []
        settings = run.settings.model_copy(update={
            "web_port": args.api_port, "data_dir": run.settings.data_dir / "api"})
        self.api = WorkerProcess(settings, settings.data_dir / "api.log", "api")

    async def pace(self, number: int) -> None:
        ahead = (number + 1) / self.args.rate - (time.monotonic() - self.began)
        if ahead > 0:
            await asyncio.sleep(ahead)

    async def kill_now_and_then(self) -> None:
        """Until ``stopping``; a kill under way is finished (its node or worker back)."""
        while True:
            try:
                await asyncio.wait_for(self.stopping.wait(),
                                       self.rng.uniform(0.2, 1.0) * self.args.every)
                return
            except TimeoutError:
                pass
            minute = (time.monotonic() - self.began) / 60
            if self.rng.random() < 0.5:
                self.kills.append(f"{minute:.1f} min: the busiest leader")
                await self.run.kill_leader()
            else:
                self.kills.append(f"{minute:.1f} min: a worker")
                spared = range(1, self.run.plan.workers) if self.args.spare_worker else None
                await self.run.kill_worker(twice=False, among=spared)

    async def every_minute(self) -> None:
        """Until ``stopping``, then once more unless the last measure is recent: a measure
        under way when the traffic ends is finished, not cancelled, and a run shorter than
        its first minute still says how it ended."""
        updates_before, measured = 0, time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 60)
            if self.stopping.is_set() and time.monotonic() - measured < 30:
                return
            since, measured = time.monotonic() - measured, time.monotonic()
            updates_before = await self.measure(updates_before, since)
            if self.stopping.is_set():
                return

    async def measure(self, updates_before: int, seconds: float) -> int:
        """One minute's line (``seconds`` since the last); the status updates so far."""
        settings = self.run.settings
        minute = round((time.monotonic() - self.began) / 60)
        try:
            lag = sum((await group_lag(settings.bootstrap_servers, settings.app_id,
                                       self.run.topology.consumed)).values())
            audit = await audit_status_topic(
                settings, self.run.topology.name("declaration-status"))
        except Exception as exc:  # a broker down just then: said, and on
            print(f"minute {minute}: not measured ({type(exc).__name__})", flush=True)
            return updates_before
        rss = [rss_mib(worker) for worker in self.run.supervisor.workers]
        self.rss.append((minute, rss))
        shown = ", ".join("down" if r is None else f"{r:.0f} MiB" for r in rss)
        print(f"minute {minute}: lag {lag}; worker RSS {shown}; "
              f"{(audit.updates - updates_before) / seconds:.1f} status updates/s; "
              f"api {'ready' if ready(self.args.api_port) else 'NOT READY'}; "
              f"{audit.reused_sequences} reused, {audit.backwards} backwards", flush=True)
        return audit.updates


async def soak(args: argparse.Namespace) -> int:
    start = datetime.now(UTC) - timedelta(days=10)
    messages: list[Message] = list(
        islice(Traffic(args.seed, start), int(args.minutes * 60 * args.rate)))
    base = Settings().model_copy(update={"commit_interval": 1.0})
    plan = FaultPlan(workers=2, brokers=3, seed=args.seed)
    async with FaultyReplay(base, plan, print, barrier_timeout=900.0,
                            store="rocksdb://") as run:
        watch = Soak(run, args)
        watch.api.start()
        monitor = asyncio.create_task(watch.every_minute())
        killer = asyncio.create_task(watch.kill_now_and_then())
        try:
            await run.play(list(messages), after_message=watch.pace)
        finally:
            watch.stopping.set()
            await killer
            await monitor
        await wait_until_processed(run.settings, run.watched, 900.0)  # after the last kill
        result, audit = await run.result(), await run.audit()
        api_ready = ready(args.api_port)
        watch.api.stop()
        print(f"faults: {'; '.join(watch.kills) or 'none'}")
        clean_base = base.model_copy(update={"broker": run.settings.broker,
                                             "replication_factor": 3, "min_insync_replicas": 2})
        print("replaying the same messages with no fault, for the comparison")
        clean = await replay(list(messages), clean_base, barrier_timeout=900.0)
    found = differences(clean, result)
    print(f"{len(messages)} messages; {len(result['statuses'])} declarations; {audit.line()}")
    print(f"worker RSS by minute (MiB): {watch.rss}")
    print(f"differences from the fault-free replay: {len(found)} {found[:5]}")
    print(f"api replica ready at the end: {api_ready}")
    sound = not found and audit.sound and api_ready
    print("soak ended right" if sound else "soak ended WRONG")
    return 0 if sound else 1


def main() -> None:
    sys.exit(asyncio.run(soak(arguments().parse_args())))


if __name__ == "__main__":
    main()
