"""The forecast of release against a plain sort of the same clearances (the contract's
words, written out again here, independently of the module's counting)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.core.forecast import ClearanceHistory, Group

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PORTS, CHANNELS, GOODS = ("CNNGB", "CNDLC"), ("GREEN", "STANDARD"), ("toys", "mixed")


def oracle(clearances: list[tuple[Group, datetime, float]], group: Group,
           declared_at: datetime, t: datetime) -> dict[str, object] | None:
    """DOMAIN.md "Expected release", by sorting: the clearances released in the 90 days of
    stream time up to ``t`` (whole days) that took at least ``t - declared_at``."""
    waited = Fraction((t - declared_at) // timedelta(microseconds=1), 3_600_000_000)
    levels = [("port", "channel", "goods", "inspected"), ("port", "channel", "goods"),
              ("channel", "goods"), ("port", "channel")]
    for names in levels:
        figures = sorted(
            hours for g, released_at, hours in clearances
            if all(getattr(g, n) == getattr(group, n) for n in names)
            and (t.date() - released_at.date()).days < 90
            and Fraction(round(hours * 100), 100) >= waited
        )
        if len(figures) < 20:
            continue
        n = len(figures)
        at = [declared_at + timedelta(seconds=36 * round(figures[math.ceil(p * n) - 1] * 100))
              for p in (0.1, 0.5, 0.9)]
        within = sum(1 for h in figures if h <= 24) / n if waited <= 24 else 0.0
        return {"at": at, "p_within_24h": round(within, 4), "n": n,
                "group": {name: getattr(group, name) for name in names}}
    return None


groups = st.builds(Group, st.sampled_from(PORTS), st.sampled_from(CHANNELS),
                   st.sampled_from(GOODS), st.booleans())
clearance = st.tuples(
    groups,
    st.integers(0, 140 * 24).map(lambda h: T0 + timedelta(hours=h)),  # released at
    # hours, two decimals: often on a quarter hour, as the times waited below, so that
    # "at least as long" is tried on its edge
    st.one_of(st.integers(0, 200 * 100).map(lambda c: c / 100),
              st.integers(0, 120).map(lambda q: q / 4)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(clearance, min_size=20, max_size=300), groups,
       st.integers(0, 150 * 24 * 60), st.integers(0, 120), st.sampled_from([-17, 0, 17]))
def test_the_forecast_is_the_plain_sort_of_what_qualifies(
    clearances: list[tuple[Group, datetime, float]], group: Group, at_minute: int,
    waited_quarters: int, seconds: int,
) -> None:
    t = T0 + timedelta(minutes=at_minute)
    declared_at = t - timedelta(minutes=15 * waited_quarters, seconds=seconds)
    seen = sorted((c for c in clearances if c[1] < t), key=lambda c: c[1])  # observed before t
    history = ClearanceHistory()
    for g, released_at, hours in seen:
        history.add(g, released_at, hours)
    forecast = history.forecast(group, declared_at, t)
    expected = oracle(seen, group, declared_at, t)
    if expected is None:
        assert forecast is None
        return
    assert forecast is not None
    assert [forecast.p10_at, forecast.p50_at, forecast.p90_at] == expected["at"]
    assert forecast.p_within_24h == expected["p_within_24h"]
    assert (forecast.n, forecast.group, forecast.as_of) == (expected["n"], expected["group"], t)


def steady(history: ClearanceHistory, group: Group, hours: list[float], day: datetime) -> None:
    for h in hours:
        history.add(group, day, h)


GROUP = Group("CNNGB", "STANDARD", "toys", False)


def test_the_forecast_moves_as_the_declaration_waits() -> None:
    history = ClearanceHistory()
    steady(history, GROUP, [float(h) for h in range(1, 101)], T0)
    declared_at = T0 + timedelta(days=1)
    first = history.forecast(GROUP, declared_at, declared_at)
    later = history.forecast(GROUP, declared_at, declared_at + timedelta(hours=30))
    assert first is not None and later is not None
    assert (first.p10_at, first.p50_at, first.p90_at) == tuple(
        declared_at + timedelta(hours=h) for h in (10, 50, 90))
    assert first.p_within_24h == 0.24 and later.p_within_24h == 0.0
    assert later.n == 71 and later.p10_at == declared_at + timedelta(hours=37)
    naive = history.forecast(GROUP, declared_at, declared_at + timedelta(hours=30),
                             conditional=False)
    assert naive is not None and naive.p10_at == first.p10_at  # the time waited ignored


def test_a_clearance_counts_when_it_took_at_least_the_time_waited() -> None:
    history = ClearanceHistory()
    steady(history, GROUP, [1.0] * 20, T0)
    t = T0 + timedelta(days=1)
    assert history.forecast(GROUP, t - timedelta(hours=1), t) is not None  # as long
    assert history.forecast(GROUP, t - timedelta(hours=1, seconds=1), t) is None  # longer


def test_fewer_than_20_falls_back_then_none() -> None:
    history = ClearanceHistory()
    steady(history, GROUP, [5.0] * 19, T0)
    other_port = Group("CNDLC", "STANDARD", "toys", True)
    steady(history, other_port, [7.0] * 1, T0)
    forecast = history.forecast(GROUP, T0, T0 + timedelta(hours=1))
    assert forecast is not None  # (channel, goods) at every port holds 20
    assert forecast.group == {"channel": "STANDARD", "goods": "toys"} and forecast.n == 20
    assert history.forecast(Group("CNSHA", "GREEN", "toys", False), T0, T0) is None


def test_clearances_leave_the_window_after_90_days() -> None:
    history = ClearanceHistory()
    steady(history, GROUP, [10.0] * 20, T0)
    day_89, day_90 = T0 + timedelta(days=89), T0 + timedelta(days=90)
    assert history.forecast(GROUP, day_89, day_89) is not None  # filed just then
    assert history.forecast(GROUP, day_90, day_90) is None
    assert history.levels == {}  # nothing kept of them


def forecasts_of(history: ClearanceHistory, t: datetime) -> list[object]:
    """Every group's forecast at ``t``, filed at several times before it."""
    return [history.forecast(Group(p, c, g, i), t - timedelta(hours=w), t, move_window=False)
            for p in PORTS for c in CHANNELS for g in GOODS for i in (False, True)
            for w in (0, 5, 30)]


@settings(max_examples=60, deadline=None)
@given(st.lists(clearance, min_size=20, max_size=200), st.data())
def test_a_removed_clearance_is_as_if_never_added(
    clearances: list[tuple[Group, datetime, float]], data: st.DataObject,
) -> None:
    gone = data.draw(st.sets(st.integers(0, len(clearances) - 1)))
    ordered = sorted(clearances, key=lambda c: c[1])
    both, kept = ClearanceHistory(), ClearanceHistory()
    for n, c in enumerate(ordered):
        both.add(*c)
        if n not in gone:
            kept.add(*c)
    for n in gone:
        both.remove(*ordered[n])
    t = ordered[-1][1] + timedelta(hours=1)
    both.advance(t)  # stream time as the removed ones had brought it
    kept.advance(t)
    assert forecasts_of(both, t) == forecasts_of(kept, t)
    assert both.days() == kept.days()


def test_a_history_stored_day_by_day_reads_back_the_same() -> None:
    history = ClearanceHistory()
    for day in range(120):  # more days than the window: the first 30 have left it
        for n in range(day % 7 + 1):
            history.add(Group(PORTS[day % 2], "GREEN", GOODS[n % 2], bool(n % 3)),
                        T0 + timedelta(days=day), (day * 7 + n * 13) % 90 + 0.25)
    stored = {day: history.day_json(day) for day in history.days()}
    assert len(stored) == 90
    again = ClearanceHistory()
    for day, data in stored.items():
        again.load_day(day, data)
    assert again.today == history.today
    t = T0 + timedelta(days=120)
    assert forecasts_of(again, t) == forecasts_of(history, t)
    assert any(f is not None for f in forecasts_of(again, t))


def test_the_band_of_a_port_and_channel() -> None:
    history = ClearanceHistory()
    assert history.band("CNNGB", "STANDARD") is None
    steady(history, GROUP, [float(h) for h in range(1, 101)], T0)
    assert history.band("CNNGB", "STANDARD") == (100, [10.0, 50.0, 90.0])
    assert history.band("CNNGB", "GREEN") is None
