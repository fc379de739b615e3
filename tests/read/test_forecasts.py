"""Expected release in the read model: bases applied as the feed applies them, the
forecast of an open declaration against a plain sort of its group's clearances, kept on
disk, and scored when its declaration is released."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stream.core.forecast import Group
from stream.core.forecast_basis import Basis
from stream.read.readstore import ReadStore

T0 = datetime(2026, 11, 2, 1, tzinfo=UTC)
GROUP = Group("CNNGB", "GREEN", "bearing", False)
HOURS = [float(h) for h in range(2, 27)]  # 25 past clearances: 2, 3, ... 26 hours
OPEN_ID = "310020260000000900"


def declaration(n: int) -> str:
    return f"3100202600000{n:05d}"


def released(n: int, hours: float, group: Group = GROUP) -> Basis:
    declared_at = T0 + timedelta(hours=n)
    released_at = declared_at + timedelta(hours=hours)
    return Basis(declaration(n), group, declared_at, False, released_at, hours, released_at)


def filed(declared_at: datetime, declaration_id: str = OPEN_ID) -> Basis:
    return Basis(declaration_id, GROUP, declared_at, True, None, None, declared_at)


def update(declaration_id: str = OPEN_ID, status: str = "ACCEPTED") -> dict[str, Any]:
    return {"declaration_id": declaration_id, "status": status,
            "declared_at": "2026-11-05T00:00:00Z"}


def with_history(path: Path) -> ReadStore:
    store = ReadStore(path)
    for n, hours in enumerate(HOURS):
        store.apply_basis(released(n, hours))
    return store


def nearest_rank(figures: list[float], p: float) -> float:
    ordered = sorted(figures)
    return ordered[math.ceil(p * len(ordered)) - 1]


def test_an_open_declarations_forecast_is_its_groups_clearances_that_took_as_long(
    tmp_path: Path,
) -> None:
    store = with_history(tmp_path)
    declared_at = T0 + timedelta(days=3)
    store.apply_basis(filed(declared_at))
    for waited in (0.0, 5.5, 7.0):
        now = declared_at + timedelta(hours=waited)
        answer = store.forecasts.expected_release(update(), now)["expected_release"]
        qualifying = [h for h in HOURS if h >= waited]
        assert answer["basis"] == {"group": {"port": "CNNGB", "channel": "GREEN",
                                             "goods": "bearing", "inspected": False},
                                   "n": len(qualifying), "as_of": format_z(now)}
        for p in ("p10", "p50", "p90"):
            hours = nearest_rank(qualifying, int(p[1:]) / 100)
            assert answer[f"{p}_at"] == format_z(declared_at + timedelta(hours=hours)), p
        within = sum(h <= 24 for h in qualifying) / len(qualifying)
        assert answer["p_within_24h"] == round(within, 4)
    # 7 hours waited leaves 20 of them; 7.5 leaves 19: too few, at every level.
    later = store.forecasts.expected_release(update(), declared_at + timedelta(hours=7.5))
    assert later == {"expected_release": None, "expected_release_note": "INSUFFICIENT_HISTORY"}


def format_z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def test_why_there_is_no_forecast(tmp_path: Path) -> None:
    store = with_history(tmp_path)
    now = T0 + timedelta(days=3)
    closed = store.forecasts.expected_release(update(declaration(1), "RELEASED"), now)
    assert closed == {"expected_release": None, "expected_release_note": "NOT_OPEN"}
    unfiled = {**update(), "status": "AWAITING_DECLARATION", "declared_at": None}
    assert store.forecasts.expected_release(unfiled, now)["expected_release_note"] == "NOT_FILED"
    pending = store.forecasts.expected_release(update(), now)  # its basis not read yet
    assert pending == {"expected_release": None, "expected_release_note": "BASIS_PENDING"}
    store.apply_basis(Basis(OPEN_ID, GROUP, now, False, None, None, now))  # withdrawn
    closed = store.forecasts.expected_release(update(), now)
    assert closed["expected_release_note"] == "NOT_OPEN"


def test_a_changed_release_replaces_the_clearance_and_the_history_is_kept_on_disk(
    tmp_path: Path,
) -> None:
    store = with_history(tmp_path)
    store.apply_basis(released(0, 2.0))  # said again: counted once
    store.apply_basis(released(1, 40.0))  # a corrected release: 3 hours became 40
    store.apply_basis(filed(T0 + timedelta(days=3)))
    now = T0 + timedelta(days=3)
    answer = store.forecasts.expected_release(update(), now)
    assert answer["expected_release"]["basis"]["n"] == len(HOURS)
    expected_p90 = nearest_rank([*HOURS[:1], 40.0, *HOURS[2:]], 0.9)
    assert answer["expected_release"]["p90_at"] == format_z(now + timedelta(hours=expected_p90))
    store.commit({"status:0": 30})
    store.close()
    again = ReadStore(tmp_path)  # a restarted replica, from its disk
    assert again.forecasts.expected_release(update(), now) == answer
    assert again.forecasts.band("CNNGB", "GREEN") == store.forecasts.band("CNNGB", "GREEN")
    again.close()


def test_forecasts_made_while_open_are_scored_at_the_release(tmp_path: Path) -> None:
    store = with_history(tmp_path)
    declared_at = T0 + timedelta(days=3)
    store.apply_basis(filed(declared_at))  # a forecast: p10 4 h, p50 14 h, p90 24 h
    store.apply_basis(Basis(OPEN_ID, Group("CNNGB", "GREEN", "bearing", True), declared_at,
                            True, None, None, declared_at + timedelta(hours=1)))
    assert store.forecasts.calibration["scored"] == 0
    released_at = declared_at + timedelta(hours=20)
    store.apply_basis(Basis(OPEN_ID, GROUP, declared_at, False, released_at, 20.0,
                            released_at))
    # The second forecast (inspected: its own group has none, so (port, channel, goods))
    # reads the same 25: both put the release inside [p10, p90], after p50.
    assert store.forecasts.calibration == {"scored": 2, "inside": 2, "by_p50": 0}
    assert store.forecasts.share("inside") == 1.0 and store.forecasts.share("by_p50") == 0.0
    store.apply_basis(Basis(OPEN_ID, GROUP, declared_at, False, released_at, 20.0,
                            released_at))  # read again: not scored twice
    assert store.forecasts.calibration["scored"] == 2
    store.commit({})
    store.close()
    assert ReadStore(tmp_path).forecasts.calibration["scored"] == 2


def test_the_window_is_stream_time_not_the_readers_clock(tmp_path: Path) -> None:
    store = with_history(tmp_path)
    store.apply_basis(filed(T0 + timedelta(days=3)))
    store.commit({})
    assert any(True for _ in store._scan(b"h\0"))  # the history's days, on disk
    years_later = T0 + timedelta(days=3 * 365)  # a reader's clock far past the events
    answer = store.forecasts.expected_release(update(), years_later)
    assert answer["expected_release_note"] == "INSUFFICIENT_HISTORY"  # waited too long
    assert store.forecasts.band("CNNGB", "GREEN") is not None  # the history is still there
    store.apply_basis(filed(T0 + timedelta(days=100), declaration(99)))  # stream time moves
    assert store.forecasts.band("CNNGB", "GREEN") is None  # now it has left the window
    store.commit({})
    assert not any(True for _ in store._scan(b"h\0"))  # and left the disk
