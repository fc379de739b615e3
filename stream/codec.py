"""orjson as a Faust codec, so table values and internal messages are decoded once, fast.

Input topics are read as raw bytes instead: ingestion needs the exact bytes for dead
letters and parses them itself, once.
"""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs

CODEC = "orjson"


class OrjsonCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register() -> None:
    """Make ``orjson`` a serializer name Faust knows (idempotent)."""
    codecs.register(CODEC, OrjsonCodec())


def dumps(obj: Any) -> bytes:
    """Serialise an output record or a pydantic model's JSON form."""
    return orjson.dumps(obj)


def loads(data: bytes) -> Any:
    return orjson.loads(data)
