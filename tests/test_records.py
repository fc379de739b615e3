from __future__ import annotations

from datetime import UTC, datetime

from schemas.outputs import StatusUpdate
from stream.core.eligibility import FirmHistory
from stream.core.lifecycle import DeclarationState
from stream.core.policy import load_policy
from stream.ingest import content_digest
from stream.records import status_update
from stream.settings import DEFAULT_POLICY
from tests.builders import DECL, filed, lifecycle, model


def test_a_status_update_has_exactly_the_models_shape() -> None:
    policy = load_policy(DEFAULT_POLICY)
    state = DeclarationState(DECL)
    history = FirmHistory()
    for n, document in enumerate([filed(), lifecycle("GoodsReleased", "2026-05-10T09:00:00Z")]):
        step = state.apply(model(document), content_digest(document), f"t:0:{n}",
                           lambda _: history, policy)
    assert step.status is not None
    view, sequence = step.status
    record = status_update(view, sequence, datetime(2026, 5, 10, 9, 30, tzinfo=UTC))
    parsed = StatusUpdate.model_validate(record)
    assert parsed.model_dump(mode="json") == record
    assert record["updated_at"] == "2026-05-10T09:30:00Z"
    assert record["clearance_hours"] == 32.0 and record["sequence"] == 2
