"""Fault check (not part of the test suite): SIGKILL a worker in the middle of a month of
traffic, start a successor, and check what buyers end up seeing.

    python -m bench.kill_check [--runs 5]

What it checks: the final statuses, KPIs and counts equal scenario 07's expected
document, and no status sequence number stands for two different views.

Why it is not a test: on this machine about one run in two stalls. The successor
recovers its tables, then some of the input messages it fetched are never delivered to
its agents, so their partitions can never commit (faust-streaming #596, a race between
table recovery and fetching); with a single lost message Faust would instead commit past
it (#606). The pipeline's own guards hold whenever the run completes: a successor never
reuses a sequence number for another view (it reads what was published first, see
``stream.published``). Fixing the Faust race is open work.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from stream.replay import ReplayRun, read_topic
from stream.scenario import Barrier, differences, read_scenario
from stream.settings import Settings
from stream.worker import WorkerProcess

SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "scenarios" / "07-port-month"


async def kill_check(settings: Settings) -> None:
    steps = read_scenario(SCENARIO / "events.jsonl")
    # Cut after a barrier in the middle, so that what is still to come keeps its order.
    cut = next(i for i in range(len(steps) // 2, len(steps)) if isinstance(steps[i], Barrier))
    async with ReplayRun(settings, keep_topics=False) as run:
        await run.play(steps[: cut // 2])
        # Publish the next part and kill the worker while it is still at work on it.
        for step in steps[cut // 2 : cut]:
            if not isinstance(step, Barrier):
                await run.producer.send(
                    run.topology.name(step.topic), value=step.value, key=step.key
                )
        await run.producer.flush()
        await asyncio.sleep(0.3)
        assert run.worker.process is not None
        run.worker.process.kill()
        run.worker.process.wait()
        run.worker = WorkerProcess(run.settings, run.settings.data_dir / "successor.log")
        run.worker.start()
        await run.play(steps[cut:])
        result = await run.result()
        updates = await read_topic(
            run.settings.bootstrap_servers, run.topology.name("declaration-status")
        )

    expected = json.loads((SCENARIO / "expected.json").read_text())
    assert differences(expected, result) == []
    views: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for _, value in updates:
        assert value is not None
        update = json.loads(value)
        update.pop("updated_at")
        views[(update["declaration_id"], update["sequence"])].append(update)
    for key, seen in views.items():
        differing = [
            {f: (seen[0][f], view[f]) for f in view if view[f] != seen[0][f]} for view in seen
        ]
        assert all(view == seen[0] for view in seen), (key, differing)


def main() -> None:
    import argparse

    from stream.broker import LocalBroker

    parser = argparse.ArgumentParser(description="SIGKILL a worker mid-stream; check the end")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Settings()
    status = LocalBroker(base.cache_dir, base.broker_port).start()
    base = base.model_copy(update={"broker": status.bootstrap, "commit_interval": 0.2})
    outcomes = []
    for run in range(1, args.runs + 1):
        try:
            asyncio.run(kill_check(base))
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(f"FAILED: {str(exc).splitlines()[0][:200]}")
        print(f"run {run}: {outcomes[-1]}")
    print(f"{outcomes.count('ok')} of {len(outcomes)} runs ended right")


if __name__ == "__main__":
    main()
