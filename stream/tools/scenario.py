"""Scenario files (the acceptance format) and the comparison of results with them.

``events.jsonl``: one message per line, ``{"topic", "key", "value"}`` or ``"raw"`` text
instead of ``value``, or ``{"barrier": true}``. A result is compared field for field:
numbers within 0.01, timestamps as instants, lists as sets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from stream.topics import SPECS, Role

INPUT_TOPICS = {s.name for s in SPECS if s.role is Role.INPUT}


class ScenarioError(ValueError):
    """The scenario file cannot be read as the acceptance format."""


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Barrier:
    pass


Step = Message | Barrier


def _message(item: dict[str, Any], where: str) -> Message:
    topic = item.get("topic")
    if topic not in INPUT_TOPICS:
        raise ScenarioError(f"{where}: topic must be one of {sorted(INPUT_TOPICS)}, not {topic!r}")
    key = item.get("key")
    if key is not None and not isinstance(key, str):
        raise ScenarioError(f"{where}: key must be a string or null")
    if ("value" in item) == ("raw" in item):
        raise ScenarioError(f"{where}: give exactly one of 'value' and 'raw'")
    if "raw" in item:
        if not isinstance(item["raw"], str):
            raise ScenarioError(f"{where}: raw must be a string")
        value = item["raw"].encode("utf-8")
    else:
        value = json.dumps(item["value"], ensure_ascii=False).encode("utf-8")
    return Message(topic, key.encode("utf-8") if key is not None else None, value)


def events_line(topic: str, key: bytes | None, value: bytes) -> str:
    """A message as a line of an events file (its bytes kept as ``raw`` text), the form
    ``read_scenario`` reads back."""
    return json.dumps({"topic": topic, "key": key.decode() if key is not None else None,
                       "raw": value.decode()}) + "\n"


def read_scenario(path: Path) -> list[Step]:
    """The steps of a scenario file, with errors that name the line."""
    return list(iter_scenario(path))


def iter_scenario(path: Path) -> Iterator[Step]:
    """The steps of a scenario file one at a time, read as they are asked for (a file
    of any size), with errors that name the line."""
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                step = _step(raw, f"{path}:{number}")
                if step is not None:
                    yield step
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ScenarioError(f"{path} is a folder, not a scenario file") from exc


def _step(raw: bytes, where: str) -> Step | None:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{where}: not UTF-8 text") from exc
    if not line.strip():
        return None
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{where}: not a JSON line ({exc.msg})") from exc
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: each line must be a JSON object")
    return Barrier() if item.get("barrier") is True else _message(item, where)


# -- comparison -------------------------------------------------------------------------

def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 20 or value[4] != "-":
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(expected - actual) <= 0.01 + 1e-9
    if isinstance(expected, list) and isinstance(actual, list):
        return _same_set(expected, actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _same(v, actual[k]) for k, v in expected.items()
        )
    left, right = _instant(expected), _instant(actual)
    if left is not None and right is not None:
        return left == right
    return bool(expected == actual)


def _same_set(expected: list[Any], actual: list[Any]) -> bool:
    remaining = list(actual)
    for item in expected:
        match = next((i for i, other in enumerate(remaining) if _same(item, other)), None)
        if match is None:
            return False
        remaining.pop(match)
    return not remaining


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable differences between an expected and an actual result document."""
    found: list[str] = []
    by_id = {s["declaration_id"]: s for s in actual.get("statuses", [])}
    wanted = {s["declaration_id"]: s for s in expected.get("statuses", [])}
    for missing in sorted(wanted.keys() - by_id.keys()):
        found.append(f"status of {missing}: missing")
    for extra in sorted(by_id.keys() - wanted.keys()):
        found.append(f"status of {extra}: not expected")
    for declaration_id in sorted(wanted.keys() & by_id.keys()):
        exp, act = wanted[declaration_id], by_id[declaration_id]
        # A field absent on one side is taken as null (expected documents omit some nulls).
        for name in sorted(exp.keys() | act.keys()):
            if not _same(exp.get(name), act.get(name)):
                found.append(
                    f"status of {declaration_id}.{name}: expected {exp.get(name)!r}, "
                    f"got {act.get(name, '<absent>')!r}"
                )
    def kpi_key(kpi: dict[str, Any]) -> tuple[str, str]:
        return (kpi["port"], kpi["channel"])

    kpis = {kpi_key(k): k for k in actual.get("kpis", [])}
    for kpi in expected.get("kpis", []):
        got = kpis.pop(kpi_key(kpi), None)
        if got is None or not _same(kpi, got):
            found.append(f"kpi {kpi_key(kpi)}: expected {kpi}, got {got}")
    found.extend(f"kpi {key}: not expected ({kpi})" for key, kpi in kpis.items())
    if not _same(expected.get("summary"), actual.get("summary")):
        found.append(f"summary: expected {expected.get('summary')}, got {actual.get('summary')}")
    return found
