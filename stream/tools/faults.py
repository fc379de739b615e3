"""The fault harness: a scenario replayed while workers and the broker are killed.

``customs-stream replay EVENTS --kill-worker N --restart-broker M --workers W --seed S``
runs W workers in one group, SIGKILLs a worker at N moments chosen by the seed (every
other one soon after a restart, while the successor is still recovering) and restarts
it, SIGKILLs the local broker M times and restarts it. A supervisor restarts any worker
that stops on its own (a worker stops itself when an output or a changelog write is
lost). The result document must be the one a run without faults gives; the audit of
``declaration-status``, read from its start as a buyer would, must find no sequence
number used for two views and no step backwards.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from stream.broker import LocalBroker
from stream.settings import Settings
from stream.tools.replay import AfterMessage, Progress, ReplayError, ReplayRun, read_records
from stream.tools.scenario import Barrier, Step
from stream.worker.process import KILL_AFTER, WorkerProcess, stop_all


@dataclass(frozen=True)
class FaultPlan:
    worker_kills: int = 0
    broker_restarts: int = 0
    workers: int = 1
    seed: int = 0

    def moments(self, messages: int) -> dict[int, list[str]]:
        """After which published message each fault happens."""
        rng = random.Random(self.seed)
        at: dict[int, list[str]] = defaultdict(list)
        kills = self.worker_kills
        while kills > 0:
            # Every other kill comes soon after the previous one's restart.
            pair = min(kills, 2)
            kind = "kill-worker" if pair == 1 else "kill-worker-twice"
            at[rng.randrange(max(messages, 1))].append(kind)
            kills -= pair
        for _ in range(self.broker_restarts):
            at[rng.randrange(max(messages, 1))].append("restart-broker")
        return at


@dataclass
class Audit:
    """What a buyer reading ``declaration-status`` from its start would have seen."""

    updates: int = 0
    reused_sequences: int = 0  # one sequence number for two different views
    backwards: int = 0  # an older sequence after a newer one, for one declaration
    repeated_views: int = 0  # the same view under the same sequence again

    def line(self) -> str:
        return (
            f"audit: {self.updates} status updates; {self.reused_sequences} sequence numbers "
            f"reused for another view, {self.backwards} steps backwards, "
            f"{self.repeated_views} repeats of a view already published"
        )

    @property
    def sound(self) -> bool:
        return self.reused_sequences == 0 and self.backwards == 0

    def add(self, other: Audit) -> None:
        """Count another audit's findings in too (several runs)."""
        self.updates += other.updates
        self.reused_sequences += other.reused_sequences
        self.backwards += other.backwards
        self.repeated_views += other.repeated_views


def audit_updates(values: list[bytes]) -> Audit:
    """Audit status updates in the order their partitions deliver them (a declaration's
    updates are all in one partition, so partitions may follow one another)."""
    audit = Audit()
    views: dict[tuple[str, int], dict[str, Any]] = {}
    highest: dict[str, int] = {}
    for value in values:
        update = orjson.loads(value)
        update.pop("updated_at", None)
        declaration_id, sequence = update["declaration_id"], update["sequence"]
        audit.updates += 1
        known = views.setdefault((declaration_id, sequence), update)
        if known is not update:
            if known == update:
                audit.repeated_views += 1
            else:
                audit.reused_sequences += 1
        if sequence < highest.get(declaration_id, 0):
            audit.backwards += 1
        highest[declaration_id] = max(highest.get(declaration_id, 0), sequence)
    return audit


async def audit_status_topic(settings: Settings, topic: str) -> Audit:
    records = await read_records(settings.bootstrap_servers, [topic])
    ordered = sorted(records, key=lambda r: (r.partition, r.offset))
    return audit_updates([r.value for r in ordered if r.value is not None])


@dataclass
class Supervisor:
    """Keeps W workers running, as a process supervisor would; kills them on request."""

    settings: Settings
    count: int
    workers: list[WorkerProcess] = field(default_factory=list)
    restarts: int = 0
    kills: int = 0
    down: set[int] = field(default_factory=set)  # killed on purpose: left to the killer

    def start(self) -> None:
        for index in range(self.count):
            self.workers.append(self._process(index, 0))
            self.workers[-1].start()

    def _process(self, index: int, generation: int) -> WorkerProcess:
        settings = self.settings.model_copy(
            update={"data_dir": self.settings.data_dir / f"worker-{index}"}
        )
        return WorkerProcess(settings, settings.data_dir / f"run-{generation}.log")

    def restart(self, index: int) -> None:
        self.restarts += 1
        self.workers[index] = self._process(index, self.restarts)
        self.workers[index].start()

    def kill(self, index: int) -> None:
        process = self.workers[index].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self.kills += 1

    def check_alive(self) -> None:
        """Restart every worker that stopped on its own (not one killed on purpose)."""
        for index, worker in enumerate(self.workers):
            process = worker.process
            if index not in self.down and process is not None and process.poll() is not None:
                self.restart(index)

    def log_tail(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- worker {i}:\n{w.log_tail(chars // max(len(self.workers), 1))}"
            for i, w in enumerate(self.workers)
        )

    def stop(self) -> None:
        stop_all(self.workers, KILL_AFTER)  # together, each given the same time


class FaultyReplay(ReplayRun):
    """A replay run with faults injected as the plan says."""

    def __init__(self, base: Settings, plan: FaultPlan, progress: Progress = lambda _: None,
                 barrier_timeout: float = 180.0, **overrides: Any) -> None:
        super().__init__(base, progress, barrier_timeout, **overrides)
        self.plan = plan
        self.rng = random.Random(plan.seed + 1)
        self.supervisor = Supervisor(self.settings, plan.workers)
        self.watched = self.supervisor
        self.broker: LocalBroker | None = None
        if plan.broker_restarts:
            self.broker = _local_broker_of(base)

    def start_workers(self) -> None:
        self.supervisor.start()

    def stop_workers(self) -> None:
        self.supervisor.stop()

    async def play(self, steps: list[Step], after_message: AfterMessage | None = None) -> None:
        messages = sum(1 for s in steps if not isinstance(s, Barrier))
        faults = self.plan.moments(messages)

        async def inject(number: int) -> None:
            if after_message is not None:
                await after_message(number)
            await self._faults(faults.get(number, []))

        watchdog = asyncio.create_task(self._supervise())
        try:
            await super().play(steps, after_message=inject)
        finally:
            watchdog.cancel()
        self.progress(
            f"faults: {self.supervisor.kills} worker kills, {self.plan.broker_restarts} broker "
            f"restarts, {self.supervisor.restarts} worker restarts"
        )

    async def _supervise(self) -> None:
        while True:
            self.supervisor.check_alive()
            await asyncio.sleep(0.5)

    async def _faults(self, kinds: list[str]) -> None:
        for kind in kinds:
            if kind == "restart-broker":
                await self._restart_broker()
            else:
                await self._kill_worker(twice=kind == "kill-worker-twice")

    async def _kill_worker(self, twice: bool) -> None:
        index = self.rng.randrange(self.plan.workers)
        self.supervisor.down.add(index)
        try:
            for round_ in range(2 if twice else 1):
                if round_:  # the successor is still recovering its tables
                    await asyncio.sleep(self.rng.uniform(0.5, 3.0))
                self.progress(f"SIGKILL worker {index}")
                self.supervisor.kill(index)
                await asyncio.sleep(self.rng.uniform(0.0, 1.0))
                self.supervisor.restart(index)
        finally:
            self.supervisor.down.discard(index)
        await asyncio.sleep(self.rng.uniform(0.0, 2.0))

    async def _restart_broker(self) -> None:
        assert self.broker is not None
        self.progress("SIGKILL the broker")
        await asyncio.to_thread(self.broker.kill)
        await asyncio.sleep(self.rng.uniform(0.0, 2.0))
        await asyncio.to_thread(self.broker.start)
        self.progress("broker restarted")

    async def audit(self) -> Audit:
        return await audit_status_topic(
            self.settings, self.topology.name("declaration-status")
        )


def _local_broker_of(settings: Settings) -> LocalBroker:
    broker = LocalBroker(Path(settings.cache_dir), int(settings.bootstrap_servers.split(":")[-1]))
    if not broker.status().running:
        raise ReplayError(
            f"--restart-broker needs the project's local broker at {broker.bootstrap} "
            "(customs-stream broker start)"
        )
    return broker


async def run_with_faults(
    steps: list[Step], base: Settings, plan: FaultPlan, progress: Progress = lambda _: None,
    barrier_timeout: float = 180.0, keep_topics: bool = False, **overrides: Any,
) -> tuple[dict[str, Any], Audit]:
    """Run a scenario under the plan's faults; the result document and the audit
    (``overrides``: settings of the run, e.g. its table store)."""
    async with FaultyReplay(base, plan, progress, barrier_timeout,
                            keep_topics=keep_topics, **overrides) as run:
        await run.play(steps)
        return await run.result(), await run.audit()
