"""A minimal Quix Streams application over the same topics: parse each message, produce
one record with its provenance in a header. Runs in its own virtual environment
(``bench.pipeline`` makes it under ``.cache/quix``), so Quix's dependencies never meet the
project's. Run as ``python bench/quix_echo.py PREFIX GROUP BOOTSTRAP OUTPUT TOPIC...``.

Quix gives an output its input's timestamp; the benchmark measures rates and delays from
broker timestamps, so each output is stamped with the wall clock instead.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

from quixstreams import Application
from quixstreams.context import message_context

CAUSED_BY = "x-caused-by"


def main(prefix: str, group: str, bootstrap: str, output: str, topics: list[str]) -> None:
    app = Application(
        broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
        commit_interval=1.0, loglevel="WARNING", use_changelog_topics=False,
    )
    out = app.topic(f"{prefix}.{output}", value_serializer="bytes", key_serializer="bytes")

    def parse(value: bytes) -> bytes:
        with contextlib.suppress(ValueError):
            json.loads(value)
        return value

    def provenance(value: Any, key: Any, timestamp: int, headers: Any) -> list[Any]:
        context = message_context()
        topic = context.topic.split(".", 1)[1]
        return [(CAUSED_BY, f"{topic}:{context.partition}:{context.offset}".encode())]

    for name in topics:
        topic = app.topic(f"{prefix}.{name}", value_deserializer="bytes",
                          key_deserializer="bytes")
        sdf = app.dataframe(topic).apply(parse)
        sdf = sdf.set_headers(provenance)
        sdf = sdf.set_timestamp(lambda value, key, timestamp, headers: int(time.time() * 1000))
        sdf.to_topic(out)
    app.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
