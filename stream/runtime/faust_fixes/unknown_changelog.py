"""Fix 12: a changelog the consumer's metadata does not know yet is not a mismatch
(checked against faust-streaming 0.15.3; no upstream issue). At a table's first write
Faust compares the partitions of the message's topic with those of the table's
changelog, as the consumer's last metadata shows them. A changelog Faust has just made
may show 0 partitions there for a moment, and Faust raised ``PartitionsMismatch``: the
worker stopped for its supervisor (an infrastructure failure), and a replay failed
(scenario 05 once in CI, with a worker that had started quickly; bench.soak on a
cluster saw it too). A topic shown with 0 partitions is taken as not known yet, like
one not shown at all, and checked again at the next write; a real mismatch still
raises."""

from __future__ import annotations

from typing import Any

from faust.tables.base import Collection

from stream.runtime.faust_fixes.base import faust_original


def _verify_source_topic_partitions(self: Any, source_topic: str) -> None:
    if source_topic in self._verified_source_topics_for_partitions:
        return
    known = self.app.consumer.topic_partitions
    if not known(source_topic) or not known(self.changelog_topic_name):
        return  # not in the metadata yet: checked again at the next write
    faust_original(Collection, "_verify_source_topic_partitions")(self, source_topic)


PATCHES: list[tuple[type, str, Any]] = [
    (Collection, "_verify_source_topic_partitions", _verify_source_topic_partitions),
]
