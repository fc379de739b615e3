"""Every topic of the pipeline, in one place: names (prefix-aware), keys, partitions, configs.

This is the topology in the Kafka Streams sense: what flows where. The agents that
process one record live in ``stream.agents``.

::

    declarations ─┐
    inspections  ─┤                                   ┌─▶ declaration-status (compacted)
    releases     ─┼─▶ lifecycle (per declaration) ────┼─▶ release-decisions
    returns      ─┤        ▲          │               ├─▶ dead-letters, duplicates
    firm-facts ───┘        │          ├─ clearances ──┴─▶ kpis ─▶ clearance-kpis
         ▲                 │          └─▶ forecast-basis (compacted)
         │                 │ (a copy of each firm fact to every partition)
    firms ─▶ firms ────────┘

A message whose key is null (or not the payload's id's partition) is forwarded, with its
provenance in headers, to ``lifecycle-rekeyed`` / ``firms-rekeyed`` under the right key,
so that everything about one declaration (or firm) is processed in one partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from stream.settings import Settings


class Role(StrEnum):
    INPUT = "input"
    INTERNAL = "internal"
    OUTPUT = "output"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    role: Role
    config: dict[str, str] = field(default_factory=dict)
    single_partition: bool = False


# Inputs may carry oversized messages, which become TOO_LARGE dead letters: the topics
# accept them so that the pipeline, not the producer, decides. The forwarding topics
# carry inputs (with headers) and the firm facts copies of them, so they accept as much.
# A dead letter keeps at most 64 KiB of the body, so the broker's default suffices there.
_INPUT_BYTES = "max.message.bytes"
_COMPACTED = {"cleanup.policy": "compact"}

LIFECYCLE_INPUTS = ("declarations", "inspections", "releases", "returns")
_CARRY_INPUTS = frozenset({"lifecycle-rekeyed", "firms-rekeyed", "firm-facts"})

SPECS: tuple[TopicSpec, ...] = (
    TopicSpec("declarations", "declaration_id", Role.INPUT),
    TopicSpec("inspections", "declaration_id", Role.INPUT),
    TopicSpec("releases", "declaration_id", Role.INPUT),
    TopicSpec("returns", "original_declaration_id", Role.INPUT),
    TopicSpec("firms", "firm_id", Role.INPUT),
    TopicSpec("firm-facts", "firm_id", Role.INTERNAL),
    TopicSpec("lifecycle-rekeyed", "declaration_id", Role.INTERNAL),
    TopicSpec("firms-rekeyed", "firm_id", Role.INTERNAL),
    TopicSpec("clearances", "port", Role.INTERNAL, single_partition=True),
    TopicSpec("declaration-status", "declaration_id", Role.OUTPUT, dict(_COMPACTED)),
    TopicSpec("release-decisions", "declaration_id", Role.OUTPUT),
    TopicSpec("clearance-kpis", "port/channel", Role.OUTPUT, dict(_COMPACTED)),
    # What each declaration's expected release is computed from (its group, filing,
    # release): the API's forecasts and the history of clearances they read.
    TopicSpec("forecast-basis", "declaration_id", Role.OUTPUT, dict(_COMPACTED)),
    TopicSpec("dead-letters", "original key", Role.OUTPUT),
    TopicSpec("duplicates", "original key", Role.OUTPUT),
    # Buyer notifications: subscriptions (read whole by every notifier), the updates a
    # subscription's receiver never took, and every attempt (for the deliveries route).
    TopicSpec("webhook-subscriptions", "subscription id", Role.OUTPUT, dict(_COMPACTED),
              single_partition=True),
    TopicSpec("webhook-dead-letters", "declaration_id", Role.OUTPUT),
    TopicSpec("webhook-deliveries", "subscription id", Role.OUTPUT),  # every attempt
)


@dataclass(frozen=True)
class Topology:
    """Topic names and partition counts of one pipeline instance."""

    prefix: str
    partitions: int
    max_message_bytes: int
    replication_factor: int = 1
    min_insync_replicas: int = 1
    # declaration-status is compacted: a notifier that is down for less than this still
    # finds every update (compaction keeps only a declaration's latest one after it).
    status_compaction_lag_ms: int = 7 * 24 * 3600 * 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> Topology:
        return cls(
            settings.topic_prefix, settings.partitions, settings.max_message_bytes,
            settings.replication_factor, settings.min_insync_replicas,
            int(settings.status_compaction_lag * 1000),
        )

    def name(self, topic: str) -> str:
        return f"{self.prefix}.{topic}"

    def bare(self, full_name: str) -> str:
        """The topic's name without this pipeline's prefix."""
        return full_name.removeprefix(f"{self.prefix}.")

    def partitions_of(self, spec: TopicSpec) -> int:
        return 1 if spec.single_partition else self.partitions

    def config_of(self, spec: TopicSpec) -> dict[str, str]:
        config = {**spec.config, "min.insync.replicas": str(self.min_insync_replicas)}
        if spec.role is Role.INPUT or spec.name in _CARRY_INPUTS:
            config[_INPUT_BYTES] = str(self.max_message_bytes)
        if spec.name == "declaration-status":
            config["min.compaction.lag.ms"] = str(self.status_compaction_lag_ms)
        return config

    @property
    def consumed(self) -> list[str]:
        """Full names of the topics the pipeline's consumer group reads."""
        return [self.name(s.name) for s in SPECS if s.role is not Role.OUTPUT]

    @property
    def inputs(self) -> list[str]:
        return [self.name(s.name) for s in SPECS if s.role is Role.INPUT]

    @property
    def all(self) -> list[str]:
        return [self.name(s.name) for s in SPECS]
