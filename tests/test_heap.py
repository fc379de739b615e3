"""The worker's garbage collector settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from stream.runtime import heap


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_young_threshold_is_set_and_the_older_ones_kept(threshold: tuple[int, ...]) -> None:
    heap.set_young_threshold(50_000)
    assert gc.get_threshold() == (50_000, *threshold[1:])


def test_what_start_up_made_is_frozen() -> None:
    held = [object() for _ in range(1000)]
    try:
        heap.freeze_what_start_up_made()
        assert gc.get_freeze_count() >= len(held)
    finally:
        gc.unfreeze()
