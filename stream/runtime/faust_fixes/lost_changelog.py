"""Fix 5: a lost changelog write stops the worker, like a lost output (checked against
faust-streaming 0.15.3, which logged it and went on): the offsets behind it must not be
committed.

Its reason says what the producer's metadata shows of the changelog. aiokafka gives up
on a batch whose partition has had no known leader for its request timeout, with
``NotLeaderForPartitionError`` (whether or not the producer is idempotent); a CI run
once stopped so on a changelog its broker had just made, and the reason alone could not
tell a topic missing from the metadata from one without a leader."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import TopicPartition
from faust.tables.base import Collection

from stream.runtime.faust_fixes.base import fail_stop, faust_original


def _on_changelog_sent(self: Any, fut: Any) -> None:
    if fut.cancelled() or fut.exception() is not None:
        reason = "cancelled" if fut.cancelled() else repr(fut.exception())
        fail_stop(f"a changelog write of table {self.name!r} was lost ({reason}; "
                  f"{producer_view(self)})")
        return
    faust_original(Collection, "_on_changelog_sent")(self, fut)


def producer_view(table: Any) -> str:
    """What the producer's metadata shows of the table's changelog: each partition's
    leader (-1: none), or that the topic is not in it. Never raises: it only explains."""
    try:
        topic = table.changelog_topic_name
        cluster = table.app.producer._producer.client.cluster
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            return f"the producer's metadata does not show {topic}"
        leaders = {p: cluster.leader_for_partition(TopicPartition(topic, p))
                   for p in sorted(partitions)}
        return f"the producer's metadata shows {topic} with leaders {leaders}"
    except Exception as exc:  # a table or producer not (or no longer) started
        return f"the producer's metadata could not be read ({type(exc).__name__})"


PATCHES: list[tuple[type, str, Any]] = [
    (Collection, "_on_changelog_sent", _on_changelog_sent),
]
