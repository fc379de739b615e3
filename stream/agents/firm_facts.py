"""Firm facts as one lifecycle partition knows them, and which of its declarations each
firm has filed.

Histories are kept per partition (key ``partition:firm_id``): each lifecycle partition
holds exactly the facts its own stream has delivered and recovers them from its own
changelog partition, so no GlobalTable is involved. The index of declarations lists
each with its as-of time, bucketed by UTC month (key ``partition:firm_id:YYYY-MM``), so
that recording one costs the size of one month's bucket, not the firm's whole history,
and a fact finds the declarations it changes without decoding the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import FirmEvent, ReturnDeclared
from schemas.types import format_instant
from stream.core.eligibility import FirmHistory, Window, fact_key, in_spans
from stream.outbox import Outbox
from stream.pipeline import Pipeline


class PartitionFirms:
    def __init__(self, pipeline: Pipeline, outbox: Outbox) -> None:
        self.histories = pipeline.table("firm-history", outbox)
        self.index = pipeline.table("firm-declarations", outbox)
        self._cache: dict[str, tuple[Any, FirmHistory]] = {}

    def history(self, partition: int, firm_id: str) -> FirmHistory | None:
        raw = self.histories.get(f"{partition}:{firm_id}")
        if raw is None:
            return None
        cached = self._cache.get(f"{partition}:{firm_id}")
        if cached is not None and (cached[0] is raw or cached[0] == raw):
            return cached[1]
        history = FirmHistory.from_json(raw["facts"])
        self._cache[f"{partition}:{firm_id}"] = (raw, history)
        return history

    def fold(self, partition: int, fact: FirmEvent | ReturnDeclared, offset: int) -> bool:
        """Add a fact to the partition's history of its firm, noting the offset of the
        ``firm-facts`` message that brought it; False if already known."""
        key = f"{partition}:{fact.firm_id}"
        history = self.history(partition, fact.firm_id) or FirmHistory()
        if not history.add(fact):
            return False
        stored = self.histories.get(key) or {}
        raw = {
            "facts": history.to_json(), "months": stored.get("months", []),
            "brought_by": {**stored.get("brought_by", {}), fact_key(fact): offset},
        }
        self.histories[key] = raw
        self._cache[key] = (raw, history)
        return True

    def brought_by(self, partition: int, fact: FirmEvent | ReturnDeclared, offset: int) -> bool:
        """True when the message at ``offset`` is the one that brought this known fact:
        read again after a restart, its re-assessment may not have finished."""
        stored = self.histories.get(f"{partition}:{fact.firm_id}") or {}
        return bool(stored.get("brought_by", {}).get(fact_key(fact)) == offset)

    def record_filing(
        self, partition: int, firm_id: str, declaration_id: str, as_of: datetime
    ) -> None:
        """List a declaration under its firm with the time its eligibility is taken at
        (each such time it has had: the list is a superset of the current ones)."""
        month = _month(as_of)
        bucket_key = f"{partition}:{firm_id}:{month}"
        bucket = list(self.index.get(bucket_key) or [])
        entry = [declaration_id, format_instant(as_of)]
        if entry not in bucket:
            self.index[bucket_key] = [*bucket, entry]
        key = f"{partition}:{firm_id}"
        raw = self.histories.get(key) or {"facts": [], "months": []}
        if month not in raw["months"]:
            updated = {**raw, "months": sorted([*raw["months"], month])}
            self.histories[key] = updated
            cached = self._cache.get(key)
            if cached is not None:
                self._cache[key] = (updated, cached[1])

    def declarations_of(self, partition: int, firm_id: str, spans: list[Window]) -> list[str]:
        """The firm's declarations in this partition listed with a time in one of the
        spans: a superset of those whose as-of time falls in them."""
        raw = self.histories.get(f"{partition}:{firm_id}") or {"months": []}
        found: dict[str, None] = {}  # in order, each once
        for month in raw["months"]:
            if not any(_meets(month, span) for span in spans):
                continue
            for entry in self.index.get(f"{partition}:{firm_id}:{month}") or []:
                if isinstance(entry, str):  # listed without its time: always a candidate
                    found[entry] = None
                elif in_spans(spans, datetime.fromisoformat(entry[1])):
                    found[entry[0]] = None
        return list(found)


def _month(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m")


def _meets(month: str, span: Window) -> bool:
    """Whether a month's bucket may hold times in the span (a day's margin either side:
    buckets once went by local months)."""
    start, end = span
    margin = timedelta(days=1)
    first = _month(start - margin) if start.year > 1 else ""
    last = _month(end + margin) if end is not None else "9999-99"
    return first <= month <= last
