"""The JSON Schemas and the AsyncAPI document committed under schemas/ are current, and
the schemas accept what the pipeline accepts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from schemas.export import ASYNCAPI, JSON_DIR, rendered
from stream.ingest import Decoded, decode
from stream.tools.scenario import Message, read_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_committed_contract_files_are_current() -> None:
    stale = [
        str(path.name) for path, text in rendered().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run `python -m schemas.export` and commit the result"


def test_asyncapi_names_every_topic() -> None:
    document = json.loads(ASYNCAPI.read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert "{prefix}.declarations" in addresses and "{prefix}.declaration-status" in addresses
    assert document["components"]["messages"]
    for message in document["components"]["messages"].values():
        assert message["payload"]["schemaFormat"].startswith("application/schema+json")
        assert (ASYNCAPI.parent / message["payload"]["schema"]["$ref"]).exists()
    status = document["components"]["messages"]["declaration_status"]
    assert set(status["headers"]["properties"]) == {"x-caused-by", "x-events"}


def test_input_schemas_agree_with_ingestion() -> None:
    """Every scenario message valid for the pipeline is valid for its topic's schema, and
    every schema violation the pipeline finds, the schema finds too."""
    checked = 0
    for events in SCENARIOS.glob("*/events.jsonl"):
        for step in read_scenario(events):
            if not isinstance(step, Message):
                continue
            result = decode(step.topic, None, step.value)
            try:
                document = json.loads(step.value)
            except ValueError:
                continue
            schema = json.loads((JSON_DIR / f"{step.topic}.schema.json").read_text())
            valid = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.FormatChecker()
            ).is_valid(document)
            if isinstance(result, Decoded):
                assert valid, (events, document)
                checked += 1
            elif result.code.value == "SCHEMA_VIOLATION":
                assert not valid, (events, document)
    assert checked > 1000
