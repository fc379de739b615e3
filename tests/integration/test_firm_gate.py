"""Firm facts first: a worker starting on a backlog decides each declaration with the
firm facts that precede it in event time, even when they sit behind a long queue of
other firms' facts, instead of deciding without them and correcting itself later."""

from __future__ import annotations

import json

from stream.agents.firm_gate import HOLD_ABOVE
from stream.replay import wait_until_processed
from stream.settings import Settings
from stream.worker import WorkerProcess
from tests.builders import enrolled, filed, qualified_firm
from tests.integration.test_roundtrip import outputs, publish

DECLARATIONS = [f"3100202600000{n:05d}" for n in range(30)]


async def test_a_backlog_of_firm_facts_is_taken_before_the_declarations(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings, worker = pipeline_worker
    worker.stop()  # the backlog builds up while no worker runs
    others = [enrolled(firm_id=f"9133020600{n:08d}") for n in range(HOLD_ABOVE + 200)]
    # The firm's own facts come last on the firm side, behind every other firm's.
    facts = [*others, *qualified_firm()]
    await publish(settings, [
        *[("firms", f["firm_id"].encode(), json.dumps(f).encode()) for f in facts],
        *[("declarations", d.encode(), json.dumps(filed(declaration_id=d)).encode())
          for d in DECLARATIONS],
    ])
    worker.start()
    await wait_until_processed(settings, worker, timeout=180)
    updates = await outputs(settings, "declaration-status")
    assert sorted(u["declaration_id"] for u in updates) == DECLARATIONS
    # Each declaration was decided once, green, with its firm's facts in place.
    assert {(u["sequence"], u["channel"]) for u in updates} == {(1, "GREEN")}
