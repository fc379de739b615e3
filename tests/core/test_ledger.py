from __future__ import annotations

from stream.core.ledger import Ledger, Seen


def test_new_duplicate_conflict_and_redelivery() -> None:
    ledger = Ledger()
    assert ledger.check("e1", "d1", "t:0:1") is Seen.NEW
    assert ledger.check("e1", "d1", "t:0:2") is Seen.DUPLICATE
    assert ledger.check("e1", "d2", "t:0:3") is Seen.CONFLICT
    assert ledger.check("e1", "d1", "t:0:1") is Seen.REDELIVERED
    assert ledger.outcome_of("t:0:1") is Seen.NEW
    assert ledger.digests == {"e1": "d1"}  # the first version stands


def test_repeats_do_not_grow_the_ledger_and_are_repeats_again_when_read_again() -> None:
    ledger = Ledger()
    ledger.check("e1", "d1", "t:0:1")
    before = ledger.to_json()
    for offset in range(2, 1_000):
        assert ledger.check("e1", "d1" if offset % 2 else "d2", f"t:0:{offset}") in (
            Seen.DUPLICATE, Seen.CONFLICT)
    assert ledger.to_json() == before
    # Read again after a restart, in any order: the same outcome as the first time.
    assert ledger.check("e1", "d1", "t:0:3") is Seen.DUPLICATE
    assert ledger.check("e1", "d2", "t:0:2") is Seen.CONFLICT


def test_a_ledger_stored_with_repeats_noted_still_answers_for_them() -> None:
    ledger = Ledger.from_json({"digests": {"e1": "d1"},
                               "handled": {"t:0:1": "new", "t:0:2": "duplicate"}})
    assert ledger.check("e1", "d1", "t:0:2") is Seen.REDELIVERED
    assert ledger.outcome_of("t:0:2") is Seen.DUPLICATE


def test_round_trip() -> None:
    ledger = Ledger()
    ledger.check("e1", "d1", "t:0:1")
    assert Ledger.from_json(ledger.to_json()) == ledger
    assert Ledger.from_json(None) == Ledger()
