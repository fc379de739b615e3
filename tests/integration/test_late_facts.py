"""A firm fact that arrives after a declaration was decided, but happened before the
declaration's time, changes its eligibility: the declaration is assessed again."""

from __future__ import annotations

import json

from stream.settings import Settings
from stream.tools.replay import wait_until_processed
from stream.worker.process import WorkerProcess
from tests.builders import DECL, FIRM, filed, qualified_firm, revoked
from tests.integration.test_roundtrip import outputs, publish


async def test_a_late_revocation_reassesses_the_declaration(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = pipeline_worker
    facts = [("firms", FIRM.encode(), json.dumps(f).encode()) for f in qualified_firm()]
    await publish(settings, facts)
    await wait_until_processed(settings, worker, timeout=60)
    await publish(settings, [("declarations", DECL.encode(), json.dumps(filed()).encode())])
    await wait_until_processed(settings, worker, timeout=60)
    first = await outputs(settings, "declaration-status")
    assert [(u["channel"], u["eligibility_reasons"]) for u in first] == [("GREEN", [])]

    # Revoked before the declaration's time (2026-05-09T01:00Z), learnt only now.
    late = revoked("ISO9001-7777", "2026-05-01T00:00:00+08:00")
    # Revoked after it: no bearing on the decision already taken.
    later = revoked("ISO14001-7777", "2026-06-01T00:00:00+08:00")
    await publish(settings, [("firms", FIRM.encode(), json.dumps(late).encode()),
                             ("firms", FIRM.encode(), json.dumps(later).encode())])
    await wait_until_processed(settings, worker, timeout=60)

    updates = await outputs(settings, "declaration-status")
    assert [(u["sequence"], u["channel"], u["eligibility_reasons"]) for u in updates] == [
        (1, "GREEN", []), (2, "STANDARD", ["ISO9001_MISSING"]),
    ]
    decisions = await outputs(settings, "release-decisions")
    assert [d["sequence"] for d in decisions] == [1, 2]
    assert decisions[-1]["eligibility"]["certificates"]["ISO9001"] is None
    # Sampling is a function of the declaration id: its draw (0.823) is above the
    # standard channel's inspection rate, so a review, not an inspection.
    assert decisions[-1]["decision"] == "STANDARD_REVIEW"
