"""Field types shared by the event and output models: identifiers, bounded strings,
strict numbers and RFC 3339 timestamps normalised to UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, PlainSerializer


def _require_text(value: Any) -> Any:
    # A timestamp on the wire is an RFC 3339 string; numbers (epoch seconds) are refused.
    if not isinstance(value, str | datetime):
        raise ValueError("timestamp must be an RFC 3339 string with an offset")
    return value


# The instants the pipeline takes. It adds and subtracts years (look-back, retention,
# grace) from event times, which must stay inside what datetime can hold: no customs
# event is from before 1900, and none from the year 9000 on.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-10:00, past year 9999 in UTC
        instant = None
    if instant is None or not EARLIEST <= instant <= LATEST:
        raise ValueError("timestamp out of range (years 1900 to 8999, in UTC)")
    return instant


@lru_cache(maxsize=1 << 16)
def format_instant(value: datetime) -> str:
    """UTC instant as ``2026-05-09T01:00:00Z`` (microseconds only when present). Kept
    for the most recent instants: a declaration's times are written out again with
    every update of it."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def utc_day(value: datetime) -> str:
    """The UTC date of an instant, ``2026-05-09``: what strftime("%Y-%m-%d") gives for
    the years the pipeline takes (1900-8999), at a fifth of its cost."""
    return value.astimezone(UTC).date().isoformat()


def format_optional_instant(value: datetime | None) -> str | None:
    """``format_instant``, or None where there is no instant."""
    return None if value is None else format_instant(value)


def parse_instant(text: str) -> datetime:
    """An instant written by ``format_instant`` (or any ISO 8601 time with an offset),
    in UTC; ValueError when it has no offset."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text} has no offset")
    return value.astimezone(UTC)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_text),
    AfterValidator(_to_utc),
    PlainSerializer(format_instant, return_type=str, when_used="json"),
]

DeclarationId = Annotated[str, Field(strict=True, pattern=r"^\d{18}$")]
FirmId = Annotated[str, Field(strict=True, pattern=r"^[0-9A-Z]{18}$")]
District = Annotated[str, Field(strict=True, pattern=r"^\d{4}$")]
Port = Annotated[str, Field(strict=True, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")]
Country = Annotated[str, Field(strict=True, pattern=r"^[A-Z]{2}$")]
HsCode = Annotated[str, Field(strict=True, pattern=r"^\d{6}(\d{2}){0,2}$")]
UnNumber = Annotated[str, Field(strict=True, pattern=r"^UN\d{4}$")]
EventId = Annotated[str, Field(strict=True, min_length=1, max_length=64)]
ShortText = Annotated[str, Field(strict=True, min_length=1, max_length=64)]
Text = Annotated[str, Field(strict=True, max_length=512)]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
PositiveNumber = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
NonNegativeNumber = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
