"""Output records built from the core's results: what the pipeline publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from schemas.codes import codes_of
from schemas.outputs import Channel
from schemas.types import format_instant
from stream.core.declaration import Assessment, DeclarationView
from stream.core.kpi import Kpi
from stream.core.lifecycle import view_json


def status_update(
    view: DeclarationView | dict[str, Any], sequence: int, now: datetime
) -> dict[str, Any]:
    """A StatusUpdate as JSON values, built directly: it is published for nearly every
    event, and the view is already in JSON form (the shape is StatusUpdate's, tested)."""
    values = view if isinstance(view, dict) else view_json(view)
    return {
        **values, "codes": codes_of(values["status"]), "sequence": sequence,
        "updated_at": format_instant(now),
    }


def release_decision(
    declaration_id: str, assessment: Assessment, sequence: int, policy_version: str,
    now: datetime,
) -> dict[str, Any]:
    """A ReleaseDecision as JSON values, built directly, like the status update (the
    shape is ReleaseDecision's, tested)."""
    e = assessment.eligibility
    channel = e.channel.value
    return {
        "declaration_id": declaration_id,
        "decision": assessment.decision.kind.value,
        "reasons": list(assessment.decision.reasons),
        "channel": channel,
        "eligibility": {
            "firm_id": e.firm_id,
            "as_of": format_instant(e.as_of),
            "channel": channel,
            "reasons": list(e.reasons),
            "enrolled": e.enrolled,
            "certificates": dict(e.certificates),
            "returns_in_lookback": e.returns_in_lookback,
        },
        "validation_problems": list(assessment.problems),
        "sampling_draw": assessment.decision.draw,
        "policy_version": policy_version,
        "decided_for_event_id": assessment.event_id,
        "sequence": sequence,
        "decided_at": format_instant(now),
    }


def kpi_snapshot(kpi: Kpi, sequence: int, now: datetime) -> dict[str, Any]:
    """A KpiSnapshot as JSON values, built directly like the status update (the shape
    is KpiSnapshot's, tested)."""
    return {
        "port": kpi.port, "channel": Channel(kpi.channel).value, "released": kpi.released,
        "mean_clearance_hours": kpi.mean_clearance_hours,
        "p50_clearance_hours": kpi.p50_clearance_hours,
        "p95_clearance_hours": kpi.p95_clearance_hours,
        "within_24h_share": kpi.within_24h_share, "sequence": sequence,
        "updated_at": format_instant(now),
    }


EVENTS_HEADER = "x-events"  # on a status update: the ids of the events it was built from


def encode_events(event_ids: frozenset[str]) -> bytes:
    """The ``x-events`` header: a JSON array, since an event id may hold any character."""
    return orjson.dumps(sorted(event_ids))
