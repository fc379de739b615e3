"""The fault harness's own Kafka cluster (``replay --brokers 3 --kill-broker N``): started
for the run on ports and in a folder apart from the local broker (which may be
running), its leader killed and restarted at the moments the plan chooses, removed at
the end."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from stream.admin import partition_replicas, topics_named
from stream.broker.cluster import LocalCluster
from stream.settings import Settings
from stream.topics import SPECS, Role, Topology

PORT_OFFSET = 500  # the cluster's first port: the local broker's + this
IN_SYNC_WITHIN = 90.0  # seconds a restarted node may take to catch up


def cluster_for(base: Settings, size: int) -> LocalCluster:
    return LocalCluster(base.cache_dir / "faults", base.broker_port + PORT_OFFSET, size)


def cluster_settings(cluster: LocalCluster) -> dict[str, Any]:
    """What a run on the cluster changes in its settings: where, and how many replicas."""
    replicas = min(cluster.size, 3)
    return {"broker": cluster.bootstrap, "replication_factor": replicas,
            "min_insync_replicas": 2 if replicas >= 3 else 1}


@dataclass
class ClusterFaults:
    cluster: LocalCluster
    kills: int = 0

    async def start(self) -> None:
        # A cluster left by an interrupted run is stopped and made anew.
        await asyncio.to_thread(self.cluster.stop)
        shutil.rmtree(self.cluster.home, ignore_errors=True)
        await asyncio.to_thread(self.cluster.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.cluster.stop)
        shutil.rmtree(self.cluster.home, ignore_errors=True)

    async def kill_leader(self, settings: Settings, down_for: float) -> int:
        """SIGKILL the node that leads the most partitions of the run's inputs and
        changelogs, restart it after ``down_for`` seconds, and wait until every
        partition has all its replicas in sync again (so that the next kill, too,
        takes one node of three); the node's id."""
        node = await self.busiest_leader(settings)
        await asyncio.to_thread(self.cluster.kill_node, node)
        self.kills += 1
        await asyncio.sleep(down_for)
        await asyncio.to_thread(self.cluster.start_node, node)
        await self.wait_in_sync(settings)
        return node

    async def busiest_leader(self, settings: Settings) -> int:
        leaders = Counter(
            p["leader"] for p in await partition_replicas(
                settings.bootstrap_servers, await self._watched_topics(settings))
            if p["leader"] >= 0
        )
        return leaders.most_common(1)[0][0] if leaders else 1

    async def wait_in_sync(self, settings: Settings) -> None:
        topics = await topics_named(settings.bootstrap_servers, f"{settings.topic_prefix}.",
                                    f"{settings.app_id}-")
        deadline = time.monotonic() + IN_SYNC_WITHIN
        while time.monotonic() < deadline:
            partitions = await partition_replicas(settings.bootstrap_servers, topics)
            if all(len(p["isr"]) == len(p["replicas"]) for p in partitions):
                return
            await asyncio.sleep(0.5)

    async def _watched_topics(self, settings: Settings) -> list[str]:
        topology = Topology.from_settings(settings)
        inputs = [topology.name(s.name) for s in SPECS if s.role is Role.INPUT]
        return inputs + await topics_named(settings.bootstrap_servers, f"{settings.app_id}-")
