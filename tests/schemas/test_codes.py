"""Standard status codes: one checked mapping, every status in every standard."""

from __future__ import annotations

import pytest

from schemas.codes import CODES, MAPPING, STANDARDS, VERSION, codes_of, read_mapping
from schemas.outputs import Status, StatusCodes


def test_every_status_has_a_code_or_an_explicit_none_in_every_standard() -> None:
    assert VERSION and len(CODES) == len(Status) == 11
    for status, codes in CODES.items():
        assert tuple(codes) == STANDARDS, status
        StatusCodes.model_validate(codes)


@pytest.mark.parametrize(("status", "expected"), [
    ("ACCEPTED", ("01", "ACCEPTED", "ACCEPTED", None)),
    ("DOCUMENT_HOLD", ("06", "ADDITIONAL_DOCUMENTS_REQUIRED", None, None)),
    ("INSPECTION_ORDERED", ("05", "UNDERGOING_PHYSICAL_CHECK", "UNDER_CONTROL", "CUSI")),
    ("INSPECTION_SCHEDULED", ("05", "UNDERGOING_PHYSICAL_CHECK", "UNDER_CONTROL", "CUSI")),
    ("RELEASED", ("08", "RELEASED", "RELEASED_FOR_EXPORT", "CUSR")),
    ("DEPARTED", ("16", "GOODS_HAVE_EXITED", "EXIT_CONFIRMED", None)),
    ("WITHDRAWN", ("10", "CANCELLED", "INVALIDATED", None)),
    ("AWAITING_DECLARATION", (None, None, None, None)),
])
def test_the_contracts_starting_points(status: str, expected: tuple[str | None, ...]) -> None:
    assert tuple(codes_of(status).values()) == expected


def mapping_without(line: str) -> str:
    text = MAPPING.read_text()
    assert line in text
    return text.replace(line, "", 1)


@pytest.mark.parametrize(("removed", "why"), [
    ('[status.RETURNED]  # exported goods declared back: no standard status for the export\n'
     'wco = "none"\nuk_cds = "none"\neu_aes = "none"\ndcsa = "none"\n', "not mapped"),
    ('wco = "08"\n', "map each of"),
    ('version = "2026-11-29.1"\n', "no version"),
])
def test_a_mapping_with_a_gap_is_refused(removed: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        read_mapping(mapping_without(removed))


def test_a_mapping_with_an_unknown_status_or_an_empty_code_is_refused() -> None:
    text = MAPPING.read_text()
    with pytest.raises(ValueError, match="unknown"):
        read_mapping(text + '\n[status.LOST]\nwco = "none"\nuk_cds = "none"\n'
                            'eu_aes = "none"\ndcsa = "none"\n')
    with pytest.raises(ValueError, match="each code is a text"):
        read_mapping(text.replace('wco = "08"', 'wco = ""', 1))
    with pytest.raises(ValueError, match="source"):
        read_mapping(text.replace("[sources]\n", "[sources]\nextra = 'x'\n", 1))
