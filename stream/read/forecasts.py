"""Expected release in the read model: each declaration's forecast basis as published on
``forecast-basis``, the history of clearances the forecasts read, and the running
calibration of the forecasts made as bases arrived.

Every process that follows ``forecast-basis`` from its start builds the same history
(the topic is the history's log), so every API replica answers alike. The history is
held in memory (bounded: counts per hundredth of an hour per day, ``stream.core.forecast``)
and on disk one entry per day of release, written with the read model's checkpoint.

Keys: ``g|id`` a declaration's basis and the forecasts made for it while open; ``h|day``
a day of the history; ``m|forecast`` stream time and the calibration counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from schemas.types import format_instant, parse_instant
from stream.core.forecast import INSUFFICIENT_HISTORY, ClearanceHistory, day_of
from stream.core.forecast_basis import NOT_OPEN, Basis

MADE = 20  # the latest forecasts kept per open declaration, to score at its release
NOT_OPEN_NOTE = "NOT_OPEN"  # released, departed, returned or withdrawn: nothing to forecast
BASIS_PENDING = "BASIS_PENDING"  # open, but its basis is not read yet
NOT_FILED = "NOT_FILED"  # events of it are known, its filing not yet
_STATE = b"m\0forecast"

Get = Callable[[bytes], bytes | None]
Put = Callable[[bytes, bytes | None], None]
Scan = Callable[[bytes], Iterator[tuple[bytes, bytes]]]


def _key(kind: str, name: str) -> bytes:
    return f"{kind}\0{name}".encode()


def _day_key(day: int) -> bytes:
    return _key("h", f"{day:07d}")  # zero-padded: a prefix scan reads days in order


class ReleaseForecasts:
    def __init__(self, get: Get, put: Put, scan: Scan) -> None:
        self._get, self._put = get, put
        self.history = ClearanceHistory()
        for key, value in scan(b"h\0"):
            self.history.load_day(int(key[2:]), orjson.loads(value))
        state = orjson.loads(get(_STATE) or b"{}")
        if state.get("today") is not None:
            self.history.today = max(state["today"], self.history.today or 0)
        # Forecasts scored at their declaration's release: how many, how many of those
        # releases fell inside [p10, p90], how many at or before p50.
        self.calibration: Counter[str] = Counter(state.get("calibration", {}))
        self._stored_days = self.history.days()
        self._changed_days: set[int] = set()

    # -- what the pipeline publishes ------------------------------------------------------

    def apply(self, basis: Basis) -> None:
        entry = self._entry(basis.declaration_id)
        made: list[list[str]] = []
        if entry is not None:
            before = Basis.from_json(entry["basis"])
            if before.clearance is not None:
                self.history.remove(before.group, *before.clearance)
                self._changed_days.add(day_of(before.clearance[0]))
            else:
                made = entry["made"]
        self.history.advance(basis.as_of)
        if basis.clearance is not None:
            self.history.add(basis.group, *basis.clearance)
            self._changed_days.add(day_of(basis.clearance[0]))
            if entry is not None and made:  # released now: how the forecasts came true
                self._score(made, basis.clearance[0])
            made = []
        elif basis.open:
            forecast = self.history.forecast(basis.group, basis.declared_at, basis.as_of)
            if forecast is not None:
                made = [*made, [format_instant(t) for t in
                                (forecast.p10_at, forecast.p50_at, forecast.p90_at)]][-MADE:]
        self._put(_key("g", basis.declaration_id),
                  orjson.dumps({"basis": basis.to_json(), "made": made}))

    def _score(self, made: list[list[str]], released_at: datetime) -> None:
        for p10, p50, p90 in made:
            self.calibration["scored"] += 1
            self.calibration["inside"] += parse_instant(p10) <= released_at <= parse_instant(p90)
            self.calibration["by_p50"] += released_at <= parse_instant(p50)

    def flush(self) -> None:
        """Put what changed since the last flush (the read model's commit writes it)."""
        days = self.history.days()
        for day in (self._changed_days & days) | (self._stored_days - days):
            self._put(_day_key(day), orjson.dumps(self.history.day_json(day))
                      if day in days else None)
        self._stored_days, self._changed_days = days, set()
        self._put(_STATE, orjson.dumps({"today": self.history.today,
                                        "calibration": self.calibration}))

    # -- what the API asks ----------------------------------------------------------------

    def _entry(self, declaration_id: str) -> dict[str, Any] | None:
        raw = self._get(_key("g", declaration_id))
        return None if raw is None else orjson.loads(raw)

    def expected_release(self, update: dict[str, Any], now: datetime) -> dict[str, Any]:
        """``expected_release`` for a declaration's latest update, made at ``now`` from
        the clearances read so far, and when it is null, ``expected_release_note``: why."""
        if update["status"] in NOT_OPEN:  # a StrEnum's members are its values
            return {"expected_release": None, "expected_release_note": NOT_OPEN_NOTE}
        if update.get("declared_at") is None:
            return {"expected_release": None, "expected_release_note": NOT_FILED}
        entry = self._entry(update["declaration_id"])
        if entry is None:
            return {"expected_release": None, "expected_release_note": BASIS_PENDING}
        basis = Basis.from_json(entry["basis"])
        if not basis.open:
            return {"expected_release": None, "expected_release_note": NOT_OPEN_NOTE}
        forecast = self.history.forecast(basis.group, basis.declared_at, now,
                                         move_window=False)
        if forecast is None:
            return {"expected_release": None, "expected_release_note": INSUFFICIENT_HISTORY}
        return {"expected_release": forecast.to_json()}

    def band(self, port: str, channel: str) -> dict[str, Any] | None:
        """The clearance hours' p10, p50 and p90 of (port, channel) in the window."""
        found = self.history.band(port, channel)
        if found is None:
            return None
        n, (p10, p50, p90) = found
        return {"n": n, "p10_hours": p10, "p50_hours": p50, "p90_hours": p90}

    def share(self, of: str) -> float:
        """The share of scored forecasts whose release was ``inside`` or ``by_p50``."""
        scored = self.calibration["scored"]
        return self.calibration[of] / scored if scored else float("nan")
