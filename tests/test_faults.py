from __future__ import annotations

import orjson

from stream.tools.audit import audit_updates
from stream.tools.faults import FaultPlan


def update(sequence: int, status: str, declaration_id: str = "1") -> bytes:
    return orjson.dumps({"declaration_id": declaration_id, "sequence": sequence,
                         "status": status, "updated_at": f"t{sequence}{status}"})


def test_the_audit_finds_reused_sequences_steps_back_and_duplicates() -> None:
    clean = audit_updates([update(1, "ACCEPTED"), update(2, "RELEASED"), update(1, "X", "2")])
    assert (clean.updates, clean.reused_sequences, clean.backwards, clean.repeated_views) == (
        3, 0, 0, 0)
    assert clean.sound
    assert audit_updates([update(1, "ACCEPTED"), update(1, "ACCEPTED")]).repeated_views == 1
    reused = audit_updates([update(1, "ACCEPTED"), update(1, "RELEASED")])
    assert reused.reused_sequences == 1 and not reused.sound
    back = audit_updates([update(2, "RELEASED"), update(1, "ACCEPTED")])
    assert back.backwards == 1 and not back.sound


def test_fault_moments_follow_the_seed_and_the_counts() -> None:
    plan = FaultPlan(worker_kills=5, broker_restarts=1, workers=2, seed=3)
    moments = plan.moments(1000)
    assert moments == FaultPlan(5, 1, 2, 3).moments(1000)
    kinds = [kind for found in moments.values() for kind in found]
    kills = kinds.count("kill-worker") + 2 * kinds.count("kill-worker-twice")
    assert (kills, kinds.count("restart-broker")) == (5, 1)
    assert moments != FaultPlan(5, 1, 2, 4).moments(1000)
