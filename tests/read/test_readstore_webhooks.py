"""The read model's webhook side: subscriptions by buyer, the latest attempts, and the
board's figures (what waits, what was delivered, what was given up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stream.read.readstore import ATTEMPTS, ReadStore


def attempt(sid: str, webhook_id: str, outcome: str, replay: bool = False) -> dict[str, Any]:
    return {"subscription_id": sid, "webhook_id": webhook_id, "outcome": outcome,
            "replay": replay, "at": "2026-11-29T10:00:00Z"}


def test_subscriptions_are_listed_by_buyer_and_follow_their_changes(tmp_path: Path) -> None:
    store = ReadStore(tmp_path)
    store.apply_subscription("sub_a", {"id": "sub_a", "buyer_id": "buyer-001"})
    store.apply_subscription("sub_b", {"id": "sub_b", "buyer_id": "buyer-002"})
    store.commit({})
    assert [s["id"] for s in store.subscriptions_of("buyer-001")] == ["sub_a"]
    store.apply_subscription("sub_a", None)
    store.commit({})
    assert store.subscriptions_of("buyer-001") == [] and store.subscription("sub_a") is None
    assert store.subscription("sub_b") == {"id": "sub_b", "buyer_id": "buyer-002"}


def test_attempts_are_kept_latest_last_and_bounded(tmp_path: Path) -> None:
    store = ReadStore(tmp_path)
    for n in range(ATTEMPTS + 20):
        store.apply_attempt(attempt("sub_a", f"d:{n}", "delivered"))
    store.commit({})
    kept = store.attempts_of("sub_a")
    assert len(kept) == ATTEMPTS and kept[-1]["webhook_id"] == f"d:{ATTEMPTS + 19}"


def test_the_board_counts_what_waits_and_survives_a_restart(tmp_path: Path) -> None:
    store = ReadStore(tmp_path)
    store.apply_attempt(attempt("sub_a", "d:1", "retry"))
    store.apply_attempt(attempt("sub_a", "d:2", "retry"))
    store.apply_attempt(attempt("sub_a", "d:1", "retry", replay=True))  # a stream apart
    store.apply_attempt(attempt("sub_a", "d:1", "delivered"))
    store.apply_attempt(attempt("sub_b", "e:1", "given_up"))
    store.commit({})
    store.close()
    again = ReadStore(tmp_path)
    assert len(again.undelivered) == 2
    assert again.webhook_outcomes == {"delivered": 1, "given_up": 1}
    again.apply_subscription("sub_a", None)  # deleted: nothing of it waits any more
    assert again.undelivered == set()
