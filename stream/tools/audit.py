"""The buyer's audit of a fault run: ``declaration-status`` read from its start, as a
buyer would, must show no sequence number used for two views and no step backwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from stream.settings import Settings
from stream.tools.replay import read_records


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
