"""The read model on disk: what the pipeline has published, in RocksDB, so that a process
serving the API answers for every declaration with memory that does not grow with them.

Keys (bytes, ``\\0``-separated, so a prefix scan lists a buyer's declarations in id order):

- ``s|id`` the latest StatusUpdate of a declaration (the highest sequence stands);
- ``b|buyer|id`` and ``bs|buyer|status|id`` a buyer's declarations, and by status;
- ``f|firm`` a firm's facts; ``k|port/channel`` a KPI; ``d|topic|partition|offset`` a dead
  letter already counted;
- ``ws|id`` a webhook subscription as stored (its secrets sealed), ``wb|buyer|id`` a
  buyer's subscriptions, ``wa|id`` a subscription's latest delivery attempts;
- ``g|id``, ``h|day``, ``m|forecast``: expected release (``stream.read.forecasts``);
- ``m|...`` the counts by status and by dead-letter code, the latest updates, and the
  checkpoint: per partition, the next offset to read.

Records are applied into a pending layer and written with the checkpoint in one atomic
batch (``commit``), so after a crash the store and its checkpoint agree, and reading
resumes where the stored state ends.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rocksdict import BlockBasedOptions, Cache, Options, Rdict, WriteBatch

from schemas.events import FirmEvent, ReturnDeclared, parse_event
from stream.core.eligibility import FirmHistory
from stream.core.forecast_basis import Basis
from stream.core.retention import CLOSED
from stream.read.forecasts import ReleaseForecasts

RECENT = 50  # latest status updates kept for the board
ATTEMPTS = 100  # latest delivery attempts kept per webhook subscription
WRITE_BUFFER = 32 * 1024 * 1024  # each of two memtables
BLOCK_CACHE = 64 * 1024 * 1024
_SEP = b"\0"
_COUNTS, _DEAD, _RECENT, _CHECKPOINT = b"m\0counts", b"m\0dead", b"m\0recent", b"m\0checkpoint"
_WEBHOOKS = b"m\0webhooks"


def _key(*parts: str | bytes) -> bytes:
    return _SEP.join(p if isinstance(p, bytes) else p.encode() for p in parts)


def _options() -> Options:
    """RocksDB with a fixed memory budget: two 32 MB memtables and a 64 MB block cache.
    (Holding the index and filter blocks in that cache as well saved little memory and
    made lookups at a million declarations a hundred times slower: measured.)"""
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_write_buffer_size(WRITE_BUFFER)
    options.set_max_write_buffer_number(2)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(BLOCK_CACHE))
    # Most lookups while catching up are for declarations not seen yet: a bloom filter
    # answers those without reading a block.
    table.set_bloom_filter(10, False)
    options.set_block_based_table_factory(table)
    return options


class ReadStore:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(path), _options())
        self._pending: dict[bytes, bytes | None] = {}  # written since the last commit
        self.counts: Counter[str] = Counter(self._json(_COUNTS, {}))
        self.dead_letters: Counter[str] = Counter(self._json(_DEAD, {}))
        self.recent: deque[dict[str, Any]] = deque(self._json(_RECENT, []), maxlen=RECENT)
        webhooks = self._json(_WEBHOOKS, {})
        # Deliveries whose latest attempt failed (subscription|webhook id|replay), and
        # how many were delivered and given up: the board's webhook figures.
        self.undelivered: set[str] = set(webhooks.get("undelivered", []))
        self.webhook_outcomes: Counter[str] = Counter(webhooks.get("outcomes", {}))
        self.forecasts = ReleaseForecasts(self._get, self._put, self._scan)
        self.kpis: dict[str, dict[str, Any]] = {
            key.split(_SEP, 1)[1].decode(): orjson.loads(value)
            for key, value in self._scan(b"k" + _SEP)
        }

    # -- raw access ------------------------------------------------------------------

    def _get(self, key: bytes) -> bytes | None:
        if key in self._pending:
            return self._pending[key]
        value: bytes | None = self._db.get(key)
        return value

    def _put(self, key: bytes, value: bytes | None) -> None:
        self._pending[key] = value

    def _json(self, key: bytes, default: Any) -> Any:
        raw = self._get(key)
        return default if raw is None else orjson.loads(raw)

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Stored entries under a prefix, in key order (what is pending is not seen:
        reads come between commits)."""
        cursor = self._db.iter()
        cursor.seek(prefix)
        while cursor.valid():
            key = cursor.key()
            if not key.startswith(prefix):
                return
            yield key, cursor.value()
            cursor.next()

    def commit(self, checkpoint: dict[str, int]) -> None:
        """Write what was applied, with the offsets it reaches, in one atomic batch."""
        self.forecasts.flush()
        self._put(_COUNTS, orjson.dumps(self.counts))
        self._put(_DEAD, orjson.dumps(self.dead_letters))
        self._put(_RECENT, orjson.dumps(list(self.recent)))
        self._put(_WEBHOOKS, orjson.dumps({"undelivered": sorted(self.undelivered),
                                           "outcomes": self.webhook_outcomes}))
        self._put(_CHECKPOINT, orjson.dumps(checkpoint))
        batch = WriteBatch(raw_mode=True)
        for key, value in self._pending.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        self._db.write(batch)
        self._pending.clear()

    def checkpoint(self) -> dict[str, int]:
        """Per ``topic:partition``, the next offset to read (what the store holds)."""
        stored: dict[str, int] = self._json(_CHECKPOINT, {})
        return stored

    def close(self) -> None:
        self._db.close()

    # -- what the pipeline publishes ---------------------------------------------------

    def apply_status(self, update: dict[str, Any]) -> None:
        declaration_id = update["declaration_id"]
        current = self.status(declaration_id)
        if current is not None and current["sequence"] > update["sequence"]:
            return  # an older update read late: the newer one stands
        if current is not None:
            self._unindex(current)
        self._put(_key("s", declaration_id), orjson.dumps(update))
        buyer = update.get("buyer_id")
        if buyer:
            self._put(_key("b", buyer, declaration_id), b"")
            self._put(_key("bs", buyer, update["status"], declaration_id), b"")
        self.counts[update["status"]] += 1
        self.recent.appendleft(update)

    def _unindex(self, current: dict[str, Any]) -> None:
        buyer, declaration_id = current.get("buyer_id"), current["declaration_id"]
        if buyer:
            self._put(_key("b", buyer, declaration_id), None)
            self._put(_key("bs", buyer, current["status"], declaration_id), None)
        self.counts[current["status"]] -= 1
        if not self.counts[current["status"]]:
            del self.counts[current["status"]]

    def apply_dead_letter(self, letter: dict[str, Any]) -> None:
        where = _key("d", letter["source_topic"], str(letter["partition"]),
                     str(letter["offset"]))
        if self._get(where) is None:  # a redelivered message counts once
            self._put(where, b"")
            self.dead_letters[letter["error_code"]] += 1

    def apply_kpi(self, key: str, snapshot: dict[str, Any] | None) -> None:
        if snapshot is None:
            self.kpis.pop(key, None)
            self._put(_key("k", key), None)
        else:
            self.kpis[key] = snapshot
            self._put(_key("k", key), orjson.dumps(snapshot))

    def apply_basis(self, basis: Basis) -> None:
        self.forecasts.apply(basis)

    def apply_firm_fact(self, fact: dict[str, Any]) -> None:
        event = parse_event(fact)
        if isinstance(event, FirmEvent | ReturnDeclared):
            history = self.firm(event.firm_id) or FirmHistory()
            if history.add(event):
                self._put(_key("f", event.firm_id), orjson.dumps(history.to_json()))

    def apply_subscription(self, subscription_id: str, record: dict[str, Any] | None) -> None:
        current = self.subscription(subscription_id)
        if current is not None:
            self._put(_key("wb", current["buyer_id"], subscription_id), None)
        if record is None:
            self._put(_key("ws", subscription_id), None)
            self._put(_key("wa", subscription_id), None)
            self.undelivered = {u for u in self.undelivered
                                if not u.startswith(subscription_id + "|")}
            return
        self._put(_key("ws", subscription_id), orjson.dumps(record))
        self._put(_key("wb", record["buyer_id"], subscription_id), b"")

    def apply_attempt(self, attempt: dict[str, Any]) -> None:
        which = f"{attempt['subscription_id']}|{attempt['webhook_id']}|{attempt.get('replay')}"
        if attempt["outcome"] in ("retry", "disabled"):
            self.undelivered.add(which)
        else:
            self.undelivered.discard(which)
            self.webhook_outcomes[attempt["outcome"]] += 1
        kept = self.attempts_of(attempt["subscription_id"])
        kept.append(attempt)
        self._put(_key("wa", attempt["subscription_id"]), orjson.dumps(kept[-ATTEMPTS:]))

    # -- what the API asks -----------------------------------------------------------

    def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        raw = self._get(_key("ws", subscription_id))
        return None if raw is None else orjson.loads(raw)

    def subscriptions_of(self, buyer_id: str) -> list[dict[str, Any]]:
        prefix = _key("wb", buyer_id, b"")
        found = (self.subscription(k[len(prefix):].decode()) for k, _ in self._scan(prefix))
        return [s for s in found if s is not None]

    def attempts_of(self, subscription_id: str) -> list[dict[str, Any]]:
        """The latest delivery attempts, oldest first."""
        kept: list[dict[str, Any]] = self._json(_key("wa", subscription_id), [])
        return kept

    def status(self, declaration_id: str) -> dict[str, Any] | None:
        raw = self._get(_key("s", declaration_id))
        return None if raw is None else orjson.loads(raw)

    def firm(self, firm_id: str) -> FirmHistory | None:
        raw = self._get(_key("f", firm_id))
        return None if raw is None else FirmHistory.from_json(orjson.loads(raw))

    def declarations_of(
        self, buyer_id: str, status: str | None = None, skip: int = 0, take: int | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """How many declarations the buyer has (with that status), and a page of them
        in id order."""
        prefix = _key("b", buyer_id, b"") if status is None else _key("bs", buyer_id, status, b"")
        total, found = 0, list[dict[str, Any]]()
        for key, _ in self._scan(prefix):
            if skip <= total and (take is None or len(found) < take):
                update = self.status(key[len(prefix):].decode())
                if update is not None:
                    found.append(update)
            total += 1
        return total, found

    def total(self) -> int:
        return sum(self.counts.values())

    def open_count(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in CLOSED)

    def status_counts(self) -> Counter[str]:
        return Counter(self.counts)
