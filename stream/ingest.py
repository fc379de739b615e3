"""Bytes in, one outcome out: a validated event, or the reason it is a dead letter.

The checks run in the contract's order and the first failure decides. Whether an event
is new, an exact repeat or an event-id conflict depends on what was seen before for its
key, which :class:`stream.core.ledger.Ledger` answers. Nothing here raises on any input.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import orjson
from pydantic import ValidationError

from schemas.events import EVENT_TYPES, Event
from schemas.outputs import DeadLetter, ErrorCode

MAX_MESSAGE_BYTES = 1024 * 1024  # "over 1 MiB" is TOO_LARGE
RAW_EXCERPT_BYTES = 64 * 1024  # what a dead letter keeps of the body
MAX_KEY_CHARS = 1024  # what a dead letter keeps of the key
_DETAIL_CHARS = 1000


@dataclass(frozen=True)
class Decoded:
    event: Event
    digest: str  # identifies the content: the whole parsed JSON value


@dataclass(frozen=True)
class Rejected:
    code: ErrorCode
    detail: str


def content_digest(value: object) -> str:
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def decode_key(key: bytes | None) -> str | None:
    """A message key as text; an empty key counts as no key."""
    if not key:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key.decode("utf-8", "backslashreplace")


def _schema_detail(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def decode(topic: str, key: bytes | None, value: bytes | None) -> Decoded | Rejected:
    """Validate one message of ``topic`` (its bare name) against the contract."""
    raw = value or b""
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejected(ErrorCode.TOO_LARGE, f"{len(raw)} bytes, over {MAX_MESSAGE_BYTES}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejected(ErrorCode.INVALID_JSON, str(exc)[:_DETAIL_CHARS])
    if not isinstance(document, dict):
        return Rejected(ErrorCode.NOT_AN_OBJECT, f"a JSON {type(document).__name__}, not an object")
    event_type = document.get("event_type")
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        shown = repr(event_type)[:64] if "event_type" in document else "missing"
        return Rejected(ErrorCode.UNKNOWN_EVENT_TYPE, f"event_type {shown}")
    if model.topic != topic:
        return Rejected(
            ErrorCode.WRONG_TOPIC, f"{event_type} belongs on {model.topic!r}, not {topic!r}"
        )
    try:
        event = model.model_validate(document)
    except ValidationError as exc:
        return Rejected(ErrorCode.SCHEMA_VIOLATION, _schema_detail(exc)[:_DETAIL_CHARS])
    text_key = decode_key(key)
    if text_key is not None and text_key != event.key:
        return Rejected(
            ErrorCode.KEY_MISMATCH, f"key {text_key[:64]!r} but the event is for {event.key!r}"
        )
    return Decoded(event, content_digest(document))


@dataclass(frozen=True)
class Provenance:
    """Where a message was read: enough to find, fix and replay it."""

    topic: str
    partition: int
    offset: int
    key: str | None

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def excerpt(raw: bytes, limit: int = RAW_EXCERPT_BYTES) -> tuple[str, Literal["utf-8", "base64"]]:
    """At most ``limit`` bytes of ``raw`` as text: UTF-8 when that much of it is UTF-8
    (cut at a character boundary), else base64."""
    head = raw[:limit]
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # Cut through a character at the limit: the part before it is still text.
        if len(raw) > limit and exc.start >= limit - 3 and exc.reason == "unexpected end of data":
            return head[: exc.start].decode("utf-8"), "utf-8"
    return base64.b64encode(head).decode("ascii"), "base64"


def dead_letter(
    where: Provenance, value: bytes | None, code: ErrorCode, detail: str, received_at: datetime
) -> DeadLetter:
    """A dead letter whose size no input can push past a bound: the first 64 KiB of the
    body at most, with the body's length and SHA-256, so that it can be found and
    checked; the key at most 1 KiB."""
    raw = value or b""
    text, encoding = excerpt(raw)
    return DeadLetter(
        source_topic=where.topic,
        partition=where.partition,
        offset=where.offset,
        key=bounded_key(where.key),
        raw=text,
        raw_encoding=encoding,
        raw_length=len(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        error_code=code,
        error_detail=detail[:_DETAIL_CHARS],
        received_at=received_at,
    )


def bounded_key(key: str | None) -> str | None:
    """A key as a dead letter carries it: at most its first 1,024 characters."""
    return key if key is None or len(key) <= MAX_KEY_CHARS else key[:MAX_KEY_CHARS]
