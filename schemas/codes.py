"""Standard status codes: each declaration status as the WCO Data Model, HMRC's CDS, the
EU's AES and DCSA name it, from one versioned mapping (``status-codes.toml``, which
names the source of each standard). The mapping is read and checked once, on import: a
status left out, a standard left out or an unknown key stops the process that reads it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from schemas.outputs import Status

MAPPING = Path(__file__).resolve().parent / "status-codes.toml"
STANDARDS = ("wco", "uk_cds", "eu_aes", "dcsa")
NONE = "none"  # in the mapping: the standard has no equivalent (null in an update)


def read_mapping(text: str) -> tuple[str, dict[Status, dict[str, str | None]]]:
    """The mapping's version and codes by status, checked: every status, every
    standard, a source for each standard, nothing else."""
    document: dict[str, Any] = tomllib.loads(text)
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError("the mapping has no version")
    sources = document.get("sources", {})
    if sorted(sources) != sorted(STANDARDS) or not all(sources.values()):
        raise ValueError(f"the mapping must name a source for each of {STANDARDS}")
    given = document.get("status", {})
    unknown = set(given) - {s.value for s in Status}
    missing = [s.value for s in Status if s.value not in given]
    if unknown or missing:
        raise ValueError(f"statuses unknown: {sorted(unknown)}, not mapped: {missing}")
    codes: dict[Status, dict[str, str | None]] = {}
    for status in Status:
        entry = given[status.value]
        if sorted(entry) != sorted(STANDARDS):
            raise ValueError(f"{status}: map each of {STANDARDS}, and only those")
        if not all(isinstance(v, str) and v for v in entry.values()):
            raise ValueError(f"{status}: each code is a text, or {NONE!r}")
        codes[status] = {k: None if entry[k] == NONE else entry[k] for k in STANDARDS}
    return version, codes


VERSION, CODES = read_mapping(MAPPING.read_text())


def codes_of(status: Status | str) -> dict[str, str | None]:
    """The standard codes of a status, as a StatusUpdate carries them (JSON values)."""
    return CODES[Status(status)]
