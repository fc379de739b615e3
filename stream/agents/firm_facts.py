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

from datetime import datetime, timedelta
from typing import Any

from schemas.events import FirmEvent, ReturnDeclared
from schemas.types import format_instant, utc_day
from stream.agents.cache import LruCache
from stream.core.eligibility import FirmHistory, fact_key
from stream.core.standing import Window, in_spans
from stream.runtime.outbox import Outbox
from stream.runtime.pipeline import Pipeline

FIRM_CACHE_SIZE = 20_000  # decoded firm histories kept in memory, least recent out


class PartitionFirms:
    """The stored histories are read once and kept decoded: every write goes through
    here, and what is kept is forgotten at every rebalance, when a partition's tables may
    be restored from their changelogs (a RocksDB read decodes the whole value again)."""

    def __init__(self, pipeline: Pipeline, outbox: Outbox) -> None:
        self.histories = pipeline.table("firm-history", outbox)
        self.index = pipeline.table("firm-declarations", outbox)
        self._cache: LruCache[tuple[dict[str, Any] | None, FirmHistory | None]] = LruCache(
            FIRM_CACHE_SIZE)
        pipeline.app.on_partitions_revoked.connect(self._forget)
        pipeline.app.on_partitions_assigned.connect(self._forget)

    async def _forget(self, *_: Any, **__: Any) -> None:
        self._cache.clear()

    def _stored(self, key: str) -> tuple[dict[str, Any] | None, FirmHistory | None]:
        cached = self._cache.get(key)
        if cached is None:
            raw = self.histories.get(key)
            history = FirmHistory.from_json(raw["facts"]) if raw is not None else None
            cached = (raw, history)
            self._cache.put(key, cached)
        return cached

    def _store(self, key: str, raw: dict[str, Any], history: FirmHistory | None) -> None:
        self.histories[key] = raw
        self._cache.put(key, (raw, history))

    def history(self, partition: int, firm_id: str) -> FirmHistory | None:
        return self._stored(f"{partition}:{firm_id}")[1]

    def fold(self, partition: int, fact: FirmEvent | ReturnDeclared, offset: int) -> bool:
        """Add a fact to the partition's history of its firm, noting the offset of the
        ``firm-facts`` message that brought it; False if already known."""
        key = f"{partition}:{fact.firm_id}"
        stored, known = self._stored(key)
        history = FirmHistory(dict(known.facts)) if known is not None else FirmHistory()
        if not history.add(fact):  # a copy: what is kept changes only once it is stored
            return False
        stored = stored or {}
        raw = {
            "facts": history.to_json(), "months": stored.get("months", []),
            "brought_by": {**stored.get("brought_by", {}), fact_key(fact): offset},
        }
        self._store(key, raw, history)
        return True

    def brought_by(self, partition: int, fact: FirmEvent | ReturnDeclared, offset: int) -> bool:
        """True when the message at ``offset`` is the one that brought this known fact:
        read again after a restart, its re-assessment may not have finished."""
        stored = self._stored(f"{partition}:{fact.firm_id}")[0] or {}
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
        stored, history = self._stored(key)
        raw = stored or {"facts": [], "months": []}
        if month not in raw["months"]:
            self._store(key, {**raw, "months": sorted([*raw["months"], month])}, history)

    def forget_filings(
        self, partition: int, firm_id: str, declaration_id: str, times: list[datetime]
    ) -> None:
        """Take a declaration off its firm's list, in the months of the as-of times it
        may be listed with; a month left empty is dropped."""
        emptied = []
        for month in sorted({_month(t) for t in times}):
            bucket_key = f"{partition}:{firm_id}:{month}"
            bucket = self.index.get(bucket_key) or []
            kept = [e for e in bucket if (e if isinstance(e, str) else e[0]) != declaration_id]
            if len(kept) == len(bucket):
                continue
            if kept:
                self.index[bucket_key] = kept
            else:
                del self.index[bucket_key]
                emptied.append(month)
        key = f"{partition}:{firm_id}"
        stored, history = self._stored(key)
        if emptied and stored is not None:
            months = [m for m in stored.get("months", []) if m not in emptied]
            self._store(key, {**stored, "months": months}, history)

    def declarations_of(self, partition: int, firm_id: str, spans: list[Window]) -> list[str]:
        """The firm's declarations in this partition listed with a time in one of the
        spans: a superset of those whose as-of time falls in them."""
        raw = self._stored(f"{partition}:{firm_id}")[0] or {"months": []}
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
    return utc_day(t)[:7]


def _meets(month: str, span: Window) -> bool:
    """Whether a month's bucket may hold times in the span (a day's margin either side:
    buckets once went by local months)."""
    start, end = span
    margin = timedelta(days=1)
    first = _month(start - margin) if start.year > 1 else ""
    last = _month(end + margin) if end is not None else "9999-99"
    return first <= month <= last
