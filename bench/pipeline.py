"""Benchmark: the pipeline against a plain aiokafka loop, measured in the same run.

    python -m bench.pipeline [--events 200000] [--latency-events 20000] [--rate 1000]
                             [--profile] [--only-pipeline] [--workers 1]

For each loop (a plain aiokafka loop, a minimal Faust agent, stock and with the project's
Faust fixes, a minimal Quix Streams application, and the pipeline's worker), on the
local broker under a fresh topic prefix:
1. throughput: the whole generated stream is preloaded, then one worker (or the baseline
   loop) is started; sustained events/s = events / (last output - first output);
2. delay: with the worker caught up, more events are published at a steady rate well
   below capacity; the delay is each output's broker timestamp minus the timestamp of the
   input that caused it (carried in the output's ``x-caused-by`` header).

``--workers N`` runs the pipeline as N worker processes in one consumer group (each with a
data folder of its own; the topics have ``CUSTOMS_STREAM_PARTITIONS`` partitions, which
must be at least N); their processor time is summed.

``--profile`` samples each loop (the first worker of the pipeline) with py-spy while it
works through the preloaded stream and prints its samples by thread and the top 15
functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from aiokafka.admin import NewTopic

from bench.baseline import OUTPUT
from bench.harness import (
    Figures,
    cpu_seconds,
    delays,
    generate,
    memory_mb,
    publish,
    records_written,
    summary,
    throughput,
    wait_caught_up,
    written_per_event,
)
from bench.profile import Profile, threads, top
from stream.admin import connect_admin, ensure_topics
from stream.broker import LocalBroker
from stream.settings import Settings
from stream.tools.replay import delete_topics, read_records
from stream.topics import LIFECYCLE_INPUTS, Topology
from stream.worker.process import WorkerProcess


class Workers:
    """Pipeline workers in one consumer group, each with a data folder of its own."""

    def __init__(self, settings: Settings, count: int) -> None:
        folder = settings.cache_dir / "bench"
        self.workers = [
            WorkerProcess(settings.model_copy(update={"data_dir": folder / f"data-{n}"}),
                          folder / f"worker-{n}.log")
            for n in range(count)
        ]

    def start(self) -> Workers:
        for worker in self.workers:
            worker.start()
        return self

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process is not None]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


Start = Callable[[Settings], subprocess.Popen[bytes] | Workers]


def _module(name: str, *extra: str) -> Start:
    def start(settings: Settings) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", name, settings.topic_prefix, settings.app_id,
             settings.bootstrap_servers, *extra],
        )
    return start


QUIX = "quixstreams==3.28.1"


def _quix_python(cache_dir: Path) -> Path:
    """A virtual environment of its own for Quix Streams (made on first use): its
    dependencies (pydantic among them) are pinned differently from the project's."""
    venv = cache_dir / "quix"
    python = venv / "bin" / "python"
    stamp = venv / f".{QUIX}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", QUIX], check=True)
        stamp.touch()
    return python


def _quix(settings: Settings) -> subprocess.Popen[bytes]:
    script = Path(__file__).with_name("quix_echo.py")
    return subprocess.Popen([
        str(_quix_python(settings.cache_dir)), str(script), settings.topic_prefix,
        settings.app_id, settings.bootstrap_servers, OUTPUT, *LIFECYCLE_INPUTS, "firms",
    ])


def _pipeline(count: int) -> Start:
    def start(settings: Settings) -> Workers:
        if settings.partitions < count:
            raise SystemExit(f"--workers {count} needs at least {count} partitions "
                             f"(CUSTOMS_STREAM_PARTITIONS is {settings.partitions})")
        return Workers(settings, count).start()
    return start


async def measure(name: str, base: Settings, args: argparse.Namespace, start: Start,
                  outputs: str, inputs_only: bool = False) -> Figures:
    run = uuid.uuid4().hex[:8]
    settings = base.model_copy(update={
        "topic_prefix": f"bench-{run}", "app_id": f"bench-{run}", "web_enabled": False,
    })
    topology = Topology.from_settings(settings)
    await ensure_topics(settings.bootstrap_servers, topology)
    admin = await connect_admin(settings.bootstrap_servers)
    await admin.create_topics([NewTopic(topology.name(OUTPUT), settings.partitions, 1)])
    await admin.close()
    consumed = topology.inputs if inputs_only else topology.consumed
    try:
        print(f"[{name}] preloading {args.events:,} events", file=sys.stderr)
        await publish(settings, generate(args.events, seed=1), settings.topic_prefix)
        process = start(settings)
        pids = [process.pid] if isinstance(process, subprocess.Popen) else process.pids
        try:
            began = time.monotonic()
            profile = _profile(pids[0], settings) if args.profile else None
            # Half an hour, or as long as 200 events/s would take: a large run finishes.
            limit = max(1800.0, args.events / 200)
            await wait_caught_up(settings, settings.app_id, consumed, timeout=limit)
            print(f"[{name}] caught up in {time.monotonic() - began:.1f}s", file=sys.stderr)
            used = sum(cpu_seconds(pid) for pid in pids)
            print(f"[{name}] processor time {used:.1f} s, "
                  f"{1e6 * used / args.events:,.0f} µs per input event", file=sys.stderr)
            for pid in pids if isinstance(process, Workers) else []:
                rss, peak = memory_mb(pid)
                print(f"[{name}] worker RSS {rss:.0f} MB, peak {peak:.0f} MB", file=sys.stderr)
            if profile is not None:
                profile.stop()
                if profile.path.exists():
                    samples = profile.path.read_text()
                    print(f"[{name}] samples by thread: {threads(samples)}", file=sys.stderr)
                    print(f"[{name}] top 15 by own time (py-spy):", file=sys.stderr)
                    print("\n".join(top(samples)), file=sys.stderr)
            first = await read_records(settings.bootstrap_servers, [topology.name(outputs)])
            written = await records_written(settings, topology.inputs)
            print(f"[{name}] {written_per_event(args.events, written)}", file=sys.stderr)
            rate = throughput(args.events, first)
            print(f"[{name}] {len(first):,} outputs, {rate:,.0f} events/s sustained",
                  file=sys.stderr)
            print(f"[{name}] delay phase: {args.latency_events:,} at {args.rate}/s",
                  file=sys.stderr)
            before = sum(cpu_seconds(pid) for pid in pids)
            await publish(settings, generate(args.latency_events, seed=2), settings.topic_prefix,
                          rate=args.rate)
            await wait_caught_up(settings, settings.app_id, consumed)
            # Below capacity each fetch brings fewer records than from a backlog: what
            # that costs shows here, beside the drain's figure above.
            used = sum(cpu_seconds(pid) for pid in pids) - before
            print(f"[{name}] delay phase: processor time {used:.1f} s, "
                  f"{1e6 * used / args.latency_events:,.0f} µs per input event",
                  file=sys.stderr)
        finally:
            if isinstance(process, subprocess.Popen):
                process.terminate()
                process.wait()
            else:
                process.stop()
        inputs = await read_records(settings.bootstrap_servers, topology.inputs)
        everything = await read_records(settings.bootstrap_servers, [topology.name(outputs)])
        seen = {(r.topic, r.partition, r.offset) for r in first}
        phase_two = [r for r in everything if (r.topic, r.partition, r.offset) not in seen]
        return Figures(args.events, rate, delays(inputs, phase_two))
    finally:
        await delete_topics(settings)


def _profile(pid: int, settings: Settings) -> Profile:
    return Profile(pid, settings.cache_dir / "bench" / "profile.txt")


async def main(args: argparse.Namespace) -> None:
    base = Settings()
    broker = LocalBroker(base.cache_dir, base.broker_port)
    status = broker.start()
    base = base.model_copy(update={"broker": status.bootstrap})
    if args.only_pipeline:
        alone = await measure(
            "pipeline", base, args, _pipeline(args.workers), "declaration-status"
        )
        print(summary("customs-stream worker", alone))
        return
    baseline = await measure(
        "baseline", base, args, _module("bench.baseline"), OUTPUT, inputs_only=True
    )
    echo = await measure(
        "faust echo", base, args, _module("bench.faust_echo"), OUTPUT, inputs_only=True
    )
    fixed = await measure(
        "faust echo, fixed", base, args, _module("bench.faust_echo", "fixed"), OUTPUT,
        inputs_only=True,
    )
    quix = await measure("quix echo", base, args, _quix, OUTPUT, inputs_only=True)
    pipeline = await measure(
        "pipeline", base, args, _pipeline(args.workers), "declaration-status"
    )
    ratio = pipeline.events_per_second / baseline.events_per_second
    against_faust = pipeline.events_per_second / echo.events_per_second
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, Kafka on 127.0.0.1")
    print(f"events: {args.events:,} (throughput), {args.latency_events:,} at {args.rate}/s (delay)")
    print(summary("plain aiokafka loop", baseline))
    print(summary("minimal Faust agent", echo))
    print(summary("  same, with the Faust fixes", fixed))
    print(summary("minimal Quix Streams app", quix))
    print(summary("customs-stream worker", pipeline))
    print(f"pipeline / plain loop: {ratio:.2f}; pipeline / minimal Faust agent: "
          f"{against_faust:.2f} (target: at least 1.0)")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--latency-events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--profile", action="store_true", help="py-spy each loop")
    parser.add_argument("--only-pipeline", action="store_true",
                        help="measure the worker alone (no baselines, no ratio)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes in the pipeline's consumer group")
    return parser


if __name__ == "__main__":
    asyncio.run(main(arguments().parse_args()))
