"""What the agents are given: the settings, the policy, the topology, the Faust app, and
the way to declare channels and tables. Built by ``stream.worker.app.build_pipeline``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from stream import codec
from stream.core.policy import Policy
from stream.metrics import Metrics
from stream.runtime.outbox import Outbox
from stream.settings import Settings
from stream.topics import Topology


@dataclass
class Pipeline:
    settings: Settings
    policy: Policy
    topology: Topology
    app: faust.App
    metrics: Metrics = field(default_factory=Metrics)
    tables: dict[str, Any] = field(default_factory=dict)
    handlers: dict[str, Any] = field(default_factory=dict)  # each agent's, by agent name
    # The read side, when the worker serves HTTP: the API's model of what was published
    # (the agents never read it), the feed that keeps it current, and the API itself.
    read_model: Any = None  # a stream.read.readstore.ReadStore
    feed: Any = None
    api: Any = None

    def subscription(self, *names: str) -> Any:
        """One Faust channel over several (co-partitioned) topics, read as raw bytes."""
        return self.app.topic(
            *(self.topology.name(n) for n in names),
            key_serializer="raw", value_serializer="raw",
        )

    def table(self, name: str, outbox: Outbox, partitions: int | None = None) -> Any:
        """A table whose writes hold back ``outbox``'s outputs until they are stored."""
        table: Any = self.app.Table(
            name,
            partitions=partitions or self.topology.partitions,
            schema=faust.Schema(key_serializer=codec.CODEC, value_serializer=codec.CODEC),
            # A state holds whole input events: its changelog takes what the producer
            # may send (three of the largest inputs), so that no valid input can make a
            # state too large to write.
            extra_topic_configs={"max.message.bytes": str(self.settings.max_message_bytes * 3)},
        )
        table.outbox = outbox
        self.tables[name] = table
        return table
