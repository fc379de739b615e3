"""The scenario comparator: a comparator that always said "equal" would pass every
scenario, so it is tested on its own here."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from stream.tools.scenario import differences

EXPECTED = json.loads(
    (Path(__file__).parent / "scenarios" / "04-inspections-and-latency" / "expected.json")
    .read_text()
)


def changed(**edits: Any) -> dict[str, Any]:
    actual: dict[str, Any] = copy.deepcopy(EXPECTED)
    for path, value in edits.items():
        *where, name = path.split("__")
        target: Any = actual
        for step in where:
            target = target[int(step)] if step.isdigit() else target[step]
        target[name] = value
    return actual


def test_the_expected_document_agrees_with_itself() -> None:
    assert differences(EXPECTED, copy.deepcopy(EXPECTED)) == []


def test_a_changed_status_field_is_named() -> None:
    declaration_id = EXPECTED["statuses"][0]["declaration_id"]
    found = differences(EXPECTED, changed(statuses__0__status="WITHDRAWN"))
    assert found == [
        f"status of {declaration_id}.status: expected "
        f"{EXPECTED['statuses'][0]['status']!r}, got 'WITHDRAWN'"
    ]


def test_numbers_agree_within_a_hundredth_and_not_beyond() -> None:
    kpi = EXPECTED["kpis"][0]
    near = changed(kpis__0__mean_clearance_hours=kpi["mean_clearance_hours"] + 0.009)
    assert differences(EXPECTED, near) == []
    far = changed(kpis__0__mean_clearance_hours=kpi["mean_clearance_hours"] + 0.02)
    assert len(differences(EXPECTED, far)) == 1


def test_instants_compare_as_instants_and_lists_as_sets() -> None:
    index, status = next(
        (i, s) for i, s in enumerate(EXPECTED["statuses"]) if s.get("declared_at")
    )
    same_instant = status["declared_at"].replace("Z", "+00:00")
    assert differences(EXPECTED, changed(**{f"statuses__{index}__declared_at": same_instant})) == []
    other_instant = "2001-01-01T00:00:00Z"
    assert differences(EXPECTED, changed(**{f"statuses__{index}__declared_at": other_instant}))
    i, s, field = next(
        (i, s, name) for i, s in enumerate(EXPECTED["statuses"])
        for name in ("decision_reasons", "eligibility_reasons") if len(s.get(name) or []) > 1
    )
    reordered = list(reversed(s[field]))
    assert differences(EXPECTED, changed(**{f"statuses__{i}__{field}": reordered})) == []
    assert differences(EXPECTED, changed(**{f"statuses__{i}__{field}": s[field][:-1]}))


def test_missing_and_unexpected_records_and_the_summary_are_found() -> None:
    actual = copy.deepcopy(EXPECTED)
    gone = actual["statuses"].pop()
    actual["statuses"].append({**gone, "declaration_id": "319999999999999999"})
    actual["kpis"].pop()
    actual["summary"]["dead_letters"] += 1
    found = differences(EXPECTED, actual)
    assert f"status of {gone['declaration_id']}: missing" in found
    assert "status of 319999999999999999: not expected" in found
    assert any(line.startswith("kpi (") and "got None" in line for line in found)
    assert any(line.startswith("summary:") for line in found)


def test_a_field_absent_on_one_side_is_taken_as_null_but_a_value_is_not() -> None:
    index, _status = next(
        (i, s) for i, s in enumerate(EXPECTED["statuses"]) if s.get("departed_at") is None
    )
    actual = copy.deepcopy(EXPECTED)
    actual["statuses"][index].pop("departed_at", None)
    assert differences(EXPECTED, actual) == []
    assert differences(EXPECTED, changed(**{f"statuses__{index}__departed_at": "x"}))
    flagged = next(i for i, s in enumerate(EXPECTED["statuses"])
                   if isinstance(s.get("within_24h"), bool))
    as_number = int(EXPECTED["statuses"][flagged]["within_24h"])
    assert differences(EXPECTED, changed(**{f"statuses__{flagged}__within_24h": as_number})), (
        "a boolean is not a number"
    )
