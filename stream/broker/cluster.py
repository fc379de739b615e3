"""A local Kafka cluster: N KRaft nodes on loopback, each a broker and a voter of the
controller quorum (combined mode: with three nodes the quorum survives the loss of any
one, as the brokers do), each with its own data, log and port.

Node n (1-based) of a cluster whose first port is P serves clients on ``P + 2(n-1)`` and
its controller on the port after. On three or more nodes the broker's own topics
(consumer offsets, transactions) have replication factor 3 and ``min.insync.replicas``
2; the pipeline's topics get them from its settings (``replication_factor``,
``min_insync_replicas``), which ``broker start --brokers 3`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stream.broker import secure
from stream.broker.launcher import BrokerError, BrokerStatus, Launched, LocalBroker, Membership
from stream.broker.processes import new_cluster_id


@dataclass(frozen=True)
class ClusterStatus:
    nodes: list[BrokerStatus]

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    @property
    def any_running(self) -> bool:
        return any(node.running for node in self.nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)


@dataclass(frozen=True)
class LocalCluster:
    cache_dir: Path
    port: int = 19092  # the first node's
    size: int = 3
    secure: bool = False

    def __post_init__(self) -> None:
        if self.size < 1:
            raise BrokerError("a cluster has at least one node")
        object.__setattr__(self, "cache_dir", self.cache_dir.resolve())

    @property
    def home(self) -> Path:
        return self.cache_dir / f"cluster-{self.port}{'-secure' if self.secure else ''}"

    @property
    def nodes(self) -> list[LocalBroker]:
        cluster_id = self._cluster_id()
        voters = ",".join(
            f"{n}@127.0.0.1:{self.port_of(n) + 1}" for n in range(1, self.size + 1)
        )
        return [
            LocalBroker(self.cache_dir, self.port_of(n), self.secure,
                        Membership(self.home, cluster_id, voters, self.size, n))
            for n in range(1, self.size + 1)
        ]

    def node(self, node_id: int) -> LocalBroker:
        return self.nodes[node_id - 1]

    def port_of(self, node_id: int) -> int:
        return self.port + 2 * (node_id - 1)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @staticmethod
    def recorded_size(cache_dir: Path, port: int, secure: bool = False) -> int:
        """Nodes of the cluster last started at ``port`` (1: none was)."""
        cluster = LocalCluster(cache_dir, port, 1, secure)
        try:
            return int((cluster.home / "cluster.size").read_text())
        except (FileNotFoundError, ValueError):
            return 1

    def _cluster_id(self) -> str:
        """One id for every node, made with the cluster's folder and kept in it."""
        path = self.home / "cluster.id"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def status(self) -> ClusterStatus:
        return ClusterStatus([node.status() for node in self.nodes])

    def start(self, timeout: float = 120.0) -> ClusterStatus:
        """Start every node that is not running, together, and wait for them all."""
        nodes = self.nodes
        nodes[0].fetch_jars()
        (self.home / "cluster.size").write_text(str(self.size))
        launched: list[Launched] = []
        try:
            for node in nodes:
                started = node.launch()
                if started is not None:
                    launched.append(started)
            for started in launched:
                started.wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self.status()

    def start_node(self, node_id: int, timeout: float = 120.0) -> BrokerStatus:
        return self.node(node_id).start(timeout)

    def kill_node(self, node_id: int) -> bool:
        """SIGKILL one node, as a crash would (its data stays)."""
        return self.node(node_id).kill()

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop every node, together (one by one, the last ones would wait for a quorum
        that is gone); True when one was running."""
        nodes = self.nodes
        for node in nodes:
            node.terminate()
        stopped = any([node.stop(timeout) for node in nodes])
        (self.home / "cluster.size").unlink(missing_ok=True)
        return stopped

    def grant(self, prefix: str, app_id: str) -> None:
        if not self.secure:
            raise BrokerError("ACLs are for a secured cluster (broker start --secure)")
        first = self.nodes[0]
        secure.grant(first._java(), first.lib_dir, self.home, self.bootstrap, prefix, app_id)
