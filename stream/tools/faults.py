"""The fault harness: a scenario replayed while workers and the broker are killed.

``customs-stream replay EVENTS --kill-worker N --restart-broker M --workers W --seed S``
runs W workers in one group, SIGKILLs a worker at N moments chosen by the seed (every
other one soon after a restart, while the successor is still recovering) and restarts
it, SIGKILLs the local broker M times and restarts it. With ``--brokers 3 --kill-broker
K`` the run has a three-node cluster of its own (``stream.tools.cluster_faults``) and
K times SIGKILLs the node that leads the most partitions of the inputs and changelogs,
restarting it after a moment. A supervisor restarts any worker
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

from stream.broker import LocalBroker
from stream.settings import Settings
from stream.tools.audit import Audit, audit_status_topic
from stream.tools.cluster_faults import ClusterFaults, cluster_for, cluster_settings
from stream.tools.replay import (
    AfterMessage,
    Progress,
    ReplayError,
    ReplayRun,
    wait_until_processed,
)
from stream.tools.scenario import Barrier, Step
from stream.worker.process import KILL_AFTER, WorkerProcess, stop_all


@dataclass(frozen=True)
class FaultPlan:
    worker_kills: int = 0
    broker_restarts: int = 0
    workers: int = 1
    seed: int = 0
    brokers: int = 1  # more: a cluster of the run's own
    leader_kills: int = 0  # on that cluster

    def check(self) -> None:
        if self.leader_kills and self.brokers < 2:
            raise ReplayError("--kill-broker kills a node of a cluster: give --brokers 3")
        if self.broker_restarts and self.brokers > 1:
            raise ReplayError("--restart-broker is for the local broker; on a cluster, "
                              "--kill-broker")

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
        for _ in range(self.leader_kills):
            at[rng.randrange(max(messages, 1))].append("kill-leader")
        return at


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
        plan.check()
        self.cluster: ClusterFaults | None = None
        if plan.brokers > 1:
            cluster = cluster_for(base, plan.brokers)
            self.cluster = ClusterFaults(cluster)
            overrides = {**overrides, **cluster_settings(cluster)}
        super().__init__(base, progress, barrier_timeout, **overrides)
        self.leader_kills: list[asyncio.Task[None]] = []
        self.one_node_at_a_time = asyncio.Lock()
        self.plan = plan
        self.rng = random.Random(plan.seed + 1)
        self.supervisor = Supervisor(self.settings, plan.workers)
        self.watched = self.supervisor
        self.broker: LocalBroker | None = None
        if plan.broker_restarts:
            self.broker = _local_broker_of(base)

    async def __aenter__(self) -> FaultyReplay:
        if self.cluster is not None:
            self.progress(f"starting a cluster of {self.plan.brokers} nodes at "
                          f"{self.cluster.cluster.bootstrap}")
            await self.cluster.start()
        try:
            await super().__aenter__()
        except BaseException:
            await self._stop_cluster()
            raise
        return self

    async def __aexit__(self, failure: type[BaseException] | None, *rest: object) -> None:
        try:
            await super().__aexit__(failure, *rest)
        finally:
            await self._stop_cluster()

    async def _stop_cluster(self) -> None:
        if self.cluster is not None:
            await self.producer.stop()  # before its brokers go
            await self.cluster.stop()

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
            if self.leader_kills:  # still under way: the result waits for them
                await asyncio.gather(*self.leader_kills)
                await wait_until_processed(self.settings, self.watched, self.barrier_timeout)
        finally:
            watchdog.cancel()
            for kill in self.leader_kills:
                kill.cancel()
        leaders = self.cluster.kills if self.cluster is not None else 0
        self.progress(
            f"faults: {self.supervisor.kills} worker kills, {self.plan.broker_restarts} broker "
            f"restarts, {leaders} leader kills, {self.supervisor.restarts} worker restarts"
        )

    async def _supervise(self) -> None:
        while True:
            self.supervisor.check_alive()
            await asyncio.sleep(0.5)

    async def _faults(self, kinds: list[str]) -> None:
        for kind in kinds:
            if kind == "restart-broker":
                await self._restart_broker()
            elif kind == "kill-leader":
                # Under load: the messages go on while the node is down (one at a time).
                self.leader_kills.append(asyncio.create_task(self.kill_leader()))
            else:
                await self.kill_worker(twice=kind == "kill-worker-twice")

    async def kill_worker(self, twice: bool, among: range | None = None) -> None:
        """SIGKILL a worker (one of ``among``, by default any) and restart it."""
        index = self.rng.choice(among or range(self.plan.workers))
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

    async def kill_leader(self) -> None:
        assert self.cluster is not None
        down_for = self.rng.uniform(0.0, 3.0)
        async with self.one_node_at_a_time:
            node = await self.cluster.kill_leader(self.settings, down_for)
        self.progress(f"SIGKILLed node {node}, the busiest leader; restarted after "
                      f"{down_for:.1f}s, its replicas in sync again")

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
