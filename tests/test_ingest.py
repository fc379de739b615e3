from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.events import DeclarationFiled
from schemas.outputs import ErrorCode
from stream.ingest import (
    RAW_EXCERPT_BYTES,
    Decoded,
    Provenance,
    Rejected,
    content_digest,
    dead_letter,
    decode,
    excerpt,
)
from tests.builders import DECL, filed, lifecycle


def raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def code(topic: str, key: bytes | None, value: bytes | None) -> ErrorCode | None:
    result = decode(topic, key, value)
    return result.code if isinstance(result, Rejected) else None


def test_a_valid_event_is_decoded_with_its_digest() -> None:
    result = decode("declarations", DECL.encode(), raw(filed()))
    assert isinstance(result, Decoded) and isinstance(result.event, DeclarationFiled)
    assert result.digest == content_digest(filed(event_id=result.event.event_id))


def test_each_error_code() -> None:
    assert code("declarations", None, b"x" * (1024 * 1024 + 1)) is ErrorCode.TOO_LARGE
    assert code("declarations", None, b'{"event_type": ') is ErrorCode.INVALID_JSON
    assert code("declarations", None, b"\xff\xfe not json") is ErrorCode.INVALID_JSON
    assert code("declarations", None, None) is ErrorCode.INVALID_JSON
    assert code("declarations", None, b"[1, 2]") is ErrorCode.NOT_AN_OBJECT
    assert code("declarations", None, raw({**filed(), "event_type": "Teleported"})) is (
        ErrorCode.UNKNOWN_EVENT_TYPE
    )
    no_type = filed()
    del no_type["event_type"]
    assert code("declarations", None, raw(no_type)) is ErrorCode.UNKNOWN_EVENT_TYPE
    assert code("releases", None, raw(filed())) is ErrorCode.WRONG_TOPIC
    assert code("declarations", None, raw(filed(firm_id="lower-case-id-00000"))) is (
        ErrorCode.SCHEMA_VIOLATION
    )
    assert code("declarations", b"310020260000000999", raw(filed())) is ErrorCode.KEY_MISMATCH


def test_checks_run_in_the_contracts_order() -> None:
    # Wrong topic and a schema violation: the topic is checked first.
    assert code("releases", None, raw(filed(firm_id="bad"))) is ErrorCode.WRONG_TOPIC
    # A schema violation and a key mismatch: the schema is checked first.
    assert code("declarations", b"999", raw(filed(firm_id="bad"))) is ErrorCode.SCHEMA_VIOLATION


def test_exactly_one_mebibyte_is_not_too_large() -> None:
    document = filed()
    document["padding"] = ""
    size = len(raw(document))
    document["padding"] = "x" * (1024 * 1024 - size)
    assert len(raw(document)) == 1024 * 1024
    assert code("declarations", None, raw(document)) is None


def test_schema_rules() -> None:
    def violates(**changes: Any) -> bool:
        return code("declarations", None, raw({**filed(), **changes})) is ErrorCode.SCHEMA_VIOLATION

    assert violates(occurred_at="2026-05-09T09:00:00")  # no offset
    assert violates(occurred_at=1778288400)  # epoch numbers are not RFC 3339
    assert violates(schema_version=2)
    assert violates(schema_version="1")  # strict types
    assert violates(declaration_id="31002026000000010")  # 17 digits
    assert violates(port="ningbo")
    assert violates(customs_district="31000")
    assert violates(transport_mode="BOAT")
    assert violates(lines=[])
    assert violates(event_id="x" * 65)
    assert violates(lines=[{**filed()["lines"][0], "quantity": 0}])
    assert violates(lines=[{**filed()["lines"][0], "quantity": "100"}])
    assert violates(lines=[{**filed()["lines"][0], "hs_code": "84821"}])
    assert violates(lines=[{**filed()["lines"][0], "un_number": "3480"}])
    assert not violates(unknown_field={"anything": 1})


def test_timestamps_are_normalised_to_utc() -> None:
    result = decode("declarations", None, raw(filed("2026-05-09T09:00:00+08:00")))
    assert isinstance(result, Decoded)
    assert result.event.occurred_at == datetime(2026, 5, 9, 1, tzinfo=UTC)
    assert result.event.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_an_empty_key_counts_as_no_key() -> None:
    assert code("declarations", b"", raw(filed())) is None


def test_dead_letters_carry_text_or_base64() -> None:
    where = Provenance("releases", 2, 41, None)
    now = datetime(2026, 5, 9, tzinfo=UTC)
    text = dead_letter(where, b"[1]", ErrorCode.NOT_AN_OBJECT, "a list", now)
    assert (text.raw, text.raw_encoding, text.offset) == ("[1]", "utf-8", 41)
    binary = dead_letter(where, b"\xff\xfe", ErrorCode.INVALID_JSON, "bad", now)
    assert (binary.raw, binary.raw_encoding) == ("//4=", "base64")


def test_digest_is_of_the_parsed_value_not_the_bytes() -> None:
    document = lifecycle("GoodsReleased", "2026-05-09T09:00:00+08:00")
    spaced = json.dumps(document, indent=2).encode()
    reordered = json.dumps(dict(reversed(list(document.items())))).encode()
    a, b = decode("releases", None, spaced), decode("releases", None, reordered)
    assert isinstance(a, Decoded) and isinstance(b, Decoded) and a.digest == b.digest


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
TOPICS = st.sampled_from(["declarations", "inspections", "releases", "returns", "firms"])
KEYS = st.none() | st.binary(max_size=20)


def _one_outcome(topic: str, key: bytes | None, value: bytes | None) -> None:
    result = decode(topic, key, value)
    assert isinstance(result, Decoded | Rejected)


@settings(max_examples=500, deadline=None)
@given(TOPICS, KEYS, st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(topic: str, key: bytes | None, value: bytes) -> None:
    _one_outcome(topic, key, value)


@settings(max_examples=500, deadline=None)
@given(TOPICS, KEYS, JSON)
def test_arbitrary_json_never_raises(topic: str, key: bytes | None, document: Any) -> None:
    _one_outcome(topic, key, json.dumps(document).encode())


EVENT_SHAPED = st.fixed_dictionaries(
    {"event_type": st.sampled_from(["DeclarationFiled", "GoodsReleased", "FirmEnrolled",
                                    "ReturnDeclared", "InspectionCompleted"])},
    optional={k: JSON for k in ["event_id", "occurred_at", "declaration_id", "firm_id",
                                "lines", "schema_version", "source"]},
)


@settings(max_examples=500, deadline=None)
@given(TOPICS, KEYS, EVENT_SHAPED)
def test_event_shaped_json_never_raises(topic: str, key: bytes | None, document: Any) -> None:
    _one_outcome(topic, key, json.dumps(document).encode())


def test_deeply_nested_json_is_a_dead_letter_not_a_crash() -> None:
    deep = b"[" * 100000 + b"]" * 100000
    assert code("declarations", None, deep) is ErrorCode.INVALID_JSON
    nested_object = b'{"a":' * 5000 + b"1" + b"}" * 5000
    # Deeper than the parser's limit: not readable as JSON (as the contract's reading).
    assert code("declarations", None, nested_object) is ErrorCode.INVALID_JSON


def test_a_dead_letter_of_any_input_is_bounded_and_names_the_whole_body() -> None:
    where = Provenance("declarations", 0, 7, "k" * 5000)
    now = datetime(2026, 5, 9, tzinfo=UTC)
    body = b"\x01" * (8 * 1024 * 1024)
    letter = dead_letter(where, body, ErrorCode.TOO_LARGE, "d" * 5000, now)
    assert (letter.raw_encoding, letter.raw_length) == ("utf-8", len(body))
    assert letter.raw == "\x01" * RAW_EXCERPT_BYTES
    assert letter.raw_sha256 == hashlib.sha256(body).hexdigest()
    assert len(letter.key or "") == 1024 and len(letter.error_detail) == 1000
    assert len(letter.model_dump_json()) < 512 * 1024  # control bytes escaped: 6 each
    binary = dead_letter(where, b"\xff" * (2 * 1024 * 1024), ErrorCode.TOO_LARGE, "", now)
    assert binary.raw_encoding == "base64"
    assert base64.b64decode(binary.raw) == b"\xff" * RAW_EXCERPT_BYTES


def test_an_excerpt_cut_through_a_character_stays_text() -> None:
    body = "é".encode() * RAW_EXCERPT_BYTES  # two bytes each: the cut may fall inside one
    text, encoding = excerpt(b"a" + body)
    assert encoding == "utf-8" and len(text.encode()) == RAW_EXCERPT_BYTES - 1
    assert excerpt(b"\xff" + body)[1] == "base64"  # not text where it is not cut


OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59)


@given(st.datetimes(), OFFSETS, st.sampled_from(["occurred_at", "scheduled_departure"]))
@example(datetime(9999, 12, 31, 23, 59, 59), -600, "occurred_at")
@example(datetime(1, 1, 1), 14 * 60, "scheduled_departure")
@settings(max_examples=300)
def test_any_rfc3339_timestamp_is_an_event_or_a_schema_violation(
    moment: datetime, offset: int, name: str
) -> None:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    text = f"{moment.isoformat(timespec='seconds')}{sign}{hours:02}:{minutes:02}"
    result = decode("declarations", None, raw({**filed(), name: text}))
    assert isinstance(result, Decoded) or result.code is ErrorCode.SCHEMA_VIOLATION


def test_timestamps_past_what_the_pipeline_can_compute_with_are_schema_violations() -> None:
    for text in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+14:00",
                 "1899-12-31T23:59:59Z", "9000-01-01T00:00:00Z"):
        assert code("declarations", None, raw({**filed(), "occurred_at": text})) == (
            ErrorCode.SCHEMA_VIOLATION)
    assert code("declarations", None, raw({**filed(), "occurred_at": "1969-07-20T20:17:40Z"})) \
        is None
