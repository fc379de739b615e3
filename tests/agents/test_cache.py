from __future__ import annotations

from stream.agents.cache import LruCache


def test_keeps_a_fixed_number_dropping_the_least_recently_used() -> None:
    recent: LruCache[int] = LruCache(3)
    for n in range(3):
        recent.put(str(n), n)
    assert recent.get("0") == 0  # used: now the most recent
    recent.put("3", 3)
    assert len(recent) == 3
    assert recent.get("1") is None and recent.get("0") == 0
    assert recent.pop("3") == 3 and recent.pop("3") is None
    recent.clear()
    assert len(recent) == 0
