from __future__ import annotations

import pytest

from stream.core.kpi import KpiBook, nearest_rank


def test_nearest_rank_percentiles() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert nearest_rank(values, 0.5) == 5.0
    assert nearest_rank(values, 0.95) == 10.0
    assert nearest_rank([7.0], 0.95) == 7.0
    assert nearest_rank([1.0, 7.0], 0.5) == 1.0


def test_kpi_of_a_group() -> None:
    book = KpiBook()
    for n, hours in enumerate([3.5, 11.25, 19.0, 23.99, 30.0]):
        book.record(f"d{n}", ("CNDLC", "STANDARD"), hours)
    kpi = book.kpi(("CNDLC", "STANDARD"))
    assert kpi is not None
    assert (kpi.released, kpi.mean_clearance_hours) == (5, 17.55)
    assert (kpi.p50_clearance_hours, kpi.p95_clearance_hours) == (19.0, 30.0)
    assert kpi.within_24h_share == 0.8


def test_a_declaration_moving_group_leaves_the_old_one() -> None:
    book = KpiBook()
    assert book.record("d", ("CNNGB", "GREEN"), 3.0) == {("CNNGB", "GREEN")}
    assert book.record("d", ("CNNGB", "GREEN"), 3.0) == set()
    assert book.record("d", ("CNNGB", "STANDARD"), 5.0) == {
        ("CNNGB", "GREEN"), ("CNNGB", "STANDARD")
    }
    assert book.kpi(("CNNGB", "GREEN")) is None
    standard = book.kpi(("CNNGB", "STANDARD"))
    assert standard is not None and standard.released == 1
    assert book.record("d", None, None) == {("CNNGB", "STANDARD")}
    assert book.kpi(("CNNGB", "STANDARD")) is None


def test_shares_round_to_four_places() -> None:
    book = KpiBook()
    for n, hours in enumerate([1.0, 30.0, 40.0]):
        book.record(str(n), ("CNNGB", "GREEN"), hours)
    kpi = book.kpi(("CNNGB", "GREEN"))
    assert kpi is not None and kpi.within_24h_share == pytest.approx(0.3333)
    assert kpi.mean_clearance_hours == pytest.approx(23.67)
