"""Fault runs (a check, not a test): scenario 07 replayed again and again while workers
and the broker are SIGKILLed, each run with another seed.

    python -m bench.faults [--runs 20] [--kill-worker 5] [--restart-broker 1] [--workers 2]
                           [--store rocksdb://] [--brokers 3 --kill-broker 2]

Each run is ``customs-stream replay`` with those faults: it must end with exactly the
expected result document, and the audit of ``declaration-status`` (read from its start,
as a buyer would) must find no sequence number reused for another view and no step
backwards. Prints "N of R runs ended right" and the audit's counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

from stream.settings import Settings
from stream.tools.audit import Audit
from stream.tools.faults import FaultPlan, run_with_faults
from stream.tools.scenario import differences, read_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "scenarios" / "07-port-month"


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Replay scenario 07 under faults, many times")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kill-worker", type=int, default=5)
    parser.add_argument("--restart-broker", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--brokers", type=int, default=1,
                        help="a cluster of this many nodes of the run's own (3: a real one)")
    parser.add_argument("--kill-broker", type=int, default=0,
                        help="SIGKILL the cluster's busiest leader this many times a run")
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--store", default="memory://",
                        help="the workers' table store: memory:// (as replay) or rocksdb://")
    return parser


def main() -> None:
    from stream.broker import LocalBroker

    args = arguments().parse_args()
    if args.brokers > 1 and args.restart_broker:
        args.restart_broker = 0  # the default's local broker: on a cluster, --kill-broker
    base = Settings()
    if args.brokers == 1:  # a cluster is started by each run
        status = LocalBroker(base.cache_dir, base.broker_port).start()
        base = base.model_copy(update={"broker": status.bootstrap})
    base = base.model_copy(update={"commit_interval": 0.2})
    steps = read_scenario(args.scenario / "events.jsonl")
    expected = json.loads((args.scenario / "expected.json").read_text())
    seeds = random.SystemRandom()
    right, total = 0, Audit()
    for run in range(1, args.runs + 1):
        seed = seeds.randrange(2**31)
        plan = FaultPlan(args.kill_worker, args.restart_broker, args.workers, seed,
                         args.brokers, args.kill_broker)
        started = time.monotonic()
        try:
            result, audit = asyncio.run(run_with_faults(steps, base, plan, store=args.store))
        except Exception as exc:
            print(f"run {run} (seed {seed}): FAILED: {str(exc).splitlines()[0][:200]}")
            continue
        found = differences(expected, result)
        total.add(audit)
        ok = not found and audit.sound
        right += ok
        verdict = "ok" if ok else f"WRONG ({len(found)} differences: {found[:3]})"
        print(f"run {run} (seed {seed}, {time.monotonic() - started:.0f}s): {verdict}; "
              f"{audit.line()}", flush=True)
    print(f"{right} of {args.runs} runs ended right")
    print(f"over all runs: {total.line()}")


if __name__ == "__main__":
    main()
