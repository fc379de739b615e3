from __future__ import annotations

from stream.core.ledger import Ledger, Seen


def test_new_duplicate_conflict_and_redelivery() -> None:
    ledger = Ledger()
    assert ledger.check("e1", "d1", "t:0:1") is Seen.NEW
    assert ledger.check("e1", "d1", "t:0:2") is Seen.DUPLICATE
    assert ledger.check("e1", "d2", "t:0:3") is Seen.CONFLICT
    assert ledger.check("e1", "d2", "t:0:3") is Seen.REDELIVERED
    assert ledger.outcome_of("t:0:3") is Seen.CONFLICT
    assert ledger.digests == {"e1": "d1"}  # the first version stands


def test_round_trip() -> None:
    ledger = Ledger()
    ledger.check("e1", "d1", "t:0:1")
    assert Ledger.from_json(ledger.to_json()) == ledger
    assert Ledger.from_json(None) == Ledger()
