"""The what-if run on the scenario files and on small hand-checked cases."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.core.decision import sampling_draw
from stream.core.lifecycle import view_json
from stream.core.policy import Policy, load_policy
from stream.tools.scenario import Message, differences, iter_scenario
from stream.tools.whatif.run import WhatIf, Window
from tests import builders as b

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "tests" / "scenarios").iterdir() if p.is_dir()
                   and p.name[0].isdigit())
POLICY = load_policy(ROOT / "stream" / "policy.toml")
OTHER = "91330206MA2C777777"  # a firm that is not enrolled


def widened(policy: Policy, *ports: str) -> Policy:
    green = policy.green_channel
    scope = (*green.scope, *(green.scope[0].model_copy(update={"port": p, "port_area": None})
                             for p in ports))
    return policy.model_copy(update={
        "version": "wider", "green_channel": green.model_copy(update={"scope": scope}),
    })


def run_scenario(folder: Path, proposed: Policy = POLICY) -> WhatIf:
    whatif = WhatIf(POLICY, proposed)
    for step in iter_scenario(folder / "events.jsonl"):
        if isinstance(step, Message):
            whatif.feed(step.topic, step.key, step.value)
    return whatif


def run_documents(items: Iterable[tuple[str, dict[str, Any]]], proposed: Policy,
                  window: Window | None = None) -> WhatIf:
    whatif = WhatIf(POLICY, proposed, window or Window())
    for topic, document in items:
        whatif.feed(topic, None, orjson.dumps(document))
    return whatif


@pytest.mark.parametrize("folder", SCENARIOS, ids=lambda p: p.name)
def test_the_baseline_reproduces_every_decision_of_the_scenario(folder: Path) -> None:
    expected = json.loads((folder / "expected.json").read_text())
    whatif = run_scenario(folder)
    try:
        views = {o.declaration_id: view_json(o.baseline.view) for o in whatif.outcomes()}
        decided = [s for s in expected["statuses"] if s.get("decision") is not None]
        assert decided and views.keys() == {s["declaration_id"] for s in decided}
        assert differences({"statuses": decided}, {"statuses": list(views.values())}) == []
        report = whatif.report()
    finally:
        whatif.close()
    # The same policy on both sides changes nothing.
    assert report["changed"] == 0 and report["headlines"] == [] and report["firms"] == []
    summary = expected.get("summary")
    if summary is not None:  # what the pipeline dead-letters, the what-if run cannot read
        read = report["input"]
        assert sum(read["unreadable"].values()) + read["repeats"].get("conflict", 0) == (
            summary["dead_letters"])
        assert set(read["unreadable"]) | ({"EVENT_ID_CONFLICT"} if read["repeats"].get(
            "conflict") else set()) == set(summary["dead_letter_codes"])


def _declaration(declaration_id: str, port: str, firm: str = b.FIRM,
                 **line: Any) -> list[tuple[str, dict[str, Any]]]:
    return [("declarations", b.filed(
        declaration_id=declaration_id, firm_id=firm, port=port,
        port_area="BEILUN" if port == "CNNGB" else None, lines=[b.line(**line)],
    ))]


TOY = {"hs_code": "9503000000", "product_category": "toy"}
DANGEROUS = {"un_number": "UN3480"}


def hand_checked() -> list[tuple[str, dict[str, Any]]]:
    facts = [("firms", f) for f in b.qualified_firm()]
    return [
        *facts,
        *_declaration("310020260000000901", "CNNGB"),  # green under both
        *_declaration("220020260000000902", "CNSHA"),  # only the port kept it out
        *_declaration("220020260000000903", "CNSHA", **TOY),  # goods out of scope too
        *_declaration("220020260000000904", "CNSHA", firm=OTHER),  # firm not enrolled
        *_declaration("090020260000000905", "CNDLC"),  # a port the proposal leaves out
        *_declaration("220020260000000906", "CNSHA", **DANGEROUS),  # inspected either way
    ]


def test_widening_the_ports_changes_exactly_the_declarations_the_rules_say() -> None:
    ids = [d["declaration_id"] for topic, d in hand_checked() if topic == "declarations"]
    # None of these ids is drawn for a random inspection at either rate.
    assert all(sampling_draw(POLICY.sampling_salt, i) >= 0.10 for i in ids)
    whatif = run_documents(hand_checked(), widened(POLICY, "CNSHA"))
    try:
        changed = {o.declaration_id: o for o in whatif.outcomes() if o.changed}
        report = whatif.report()
    finally:
        whatif.close()
    assert changed.keys() == {"220020260000000902", "220020260000000906"}
    moved = changed["220020260000000902"]
    assert (moved.baseline.decision.value, moved.proposed.decision.value) == (
        "STANDARD_REVIEW", "IMMEDIATE_RELEASE")
    assert moved.why == "PORT_OUT_OF_SCOPE lifted"
    inspected = changed["220020260000000906"]
    assert inspected.baseline.decision is inspected.proposed.decision  # dangerous goods
    assert (inspected.baseline.channel.value, inspected.proposed.channel.value) == (
        "STANDARD", "GREEN")
    assert report["declarations"] == 6 and report["changed"] == 2
    assert report["headlines"] == [
        "CNSHA: 2 declarations from 1 firm would have been green (PORT_OUT_OF_SCOPE lifted)"]
    assert [(f["firm_id"], f["change"], f["declarations_to_green"]) for f in report["firms"]] == [
        (b.FIRM, "gains", 2)]


def test_a_higher_sampling_rate_adds_exactly_the_declarations_drawn_under_it() -> None:
    ids = [f"3100202600000{n:05d}" for n in range(200)]
    items = [item for i in ids for item in _declaration(i, "CNNGB", firm=OTHER)]
    proposed = POLICY.model_copy(update={"standard_inspection_rate": 0.3})
    whatif = run_documents(items, proposed)
    try:
        report = whatif.report()
    finally:
        whatif.close()
    drawn = [sampling_draw(POLICY.sampling_salt, i) for i in ids]
    added = sum(0.10 <= u < 0.30 for u in drawn)
    assert added > 0
    assert report["inspections"]["sampling_added"] == added
    assert report["inspections"]["proposed"] - report["inspections"]["baseline"] == added
    assert report["changed"] == added
    assert report["changes"][0]["why"] == "inspection sampling rate"


def test_a_stricter_rule_takes_firms_out_and_says_why() -> None:
    items = [*[("firms", f) for f in b.qualified_firm()], *_declaration("310020260000000901",
                                                                          "CNNGB")]
    green = POLICY.green_channel
    proposed = POLICY.model_copy(update={"green_channel": green.model_copy(
        update={"required_certificates": ("ISO9001", "ISO14001", "ISO45001")})})
    whatif = run_documents(items, proposed)
    try:
        report = whatif.report()
    finally:
        whatif.close()
    assert report["headlines"] == [
        "CNNGB: 1 declaration from 1 firm would have been standard (ISO45001_MISSING added)"]
    (firm,) = report["firms"]
    assert firm["change"] == "loses" and firm["standing"] == {
        "baseline": [], "proposed": ["ISO45001_MISSING"]}


def test_the_window_takes_declarations_by_the_time_of_their_content() -> None:
    since, until = b.model(b.filed(at="2026-05-09T00:00:00Z")).occurred_at, None
    items = [
        ("declarations", b.filed(at="2026-05-08T23:59:59Z", declaration_id="310020260000000801")),
        ("declarations", b.filed(at="2026-05-09T00:00:00Z", declaration_id="310020260000000802")),
    ]
    whatif = run_documents(items, POLICY, Window(since, until))
    try:
        assert [o.declaration_id for o in whatif.outcomes()] == ["310020260000000802"]
    finally:
        whatif.close()


def test_repeats_and_conflicts_are_kept_out_as_the_pipeline_keeps_them_out() -> None:
    first = b.filed(event_id="e-1")
    conflicting = {**first, "buyer_reference": "PO-OTHER"}
    whatif = run_documents([("declarations", first), ("declarations", first),
                            ("declarations", conflicting)], POLICY)
    try:
        (outcome,) = whatif.outcomes()
        assert outcome.baseline.view.buyer_reference == "PO-1"  # the first version stands
        assert dict(whatif.repeats) == {"duplicate": 1, "conflict": 1}
    finally:
        whatif.close()
