"""A hostile producer against a live worker on the real broker, property-based: hypothesis
draws what each message is (a shape, a size up to the input limit, a fill pattern, a key,
x-source-* headers, a topic) and the bodies are built from that outside hypothesis (which
caps the sizes it generates itself). After each batch the worker is still running with no
agent crash in its log, every input offset is accounted for, and no status came from a
message on the wrong topic."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from stream.settings import Settings
from stream.tools.replay import wait_until_processed
from stream.worker.process import WorkerProcess
from tests.builders import filed, lifecycle
from tests.integration.hostile import INPUTS, Sent, event_topic, outcome, send_all

MiB = 1024 * 1024
HUGE_KEY = 200_000
# What the input topics take (8 MiB), less room for the largest key and the headers.
INPUT_LIMIT = 8 * MiB - HUGE_KEY - 16 * 1024
SIZES = st.one_of(
    st.integers(0, 4096),
    st.sampled_from([MiB - 1, MiB, MiB + 1, INPUT_LIMIT]),
    st.integers(0, INPUT_LIMIT),
)
SHAPES = ("fill", "nested", "array", "far-time", "filing", "forged-release")
TIMES = ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z",
         "8999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "2262-04-11T23:47:16Z")
HEADER_VALUES = st.one_of(
    st.sampled_from([b"releases", b"declarations", b"firms", b"lifecycle-rekeyed", b"0",
                     b"-1", b"99999999999999999999999", b"5", b"\xff\xfe"]),
    st.binary(max_size=32),
)
HEADERS = st.lists(
    st.tuples(st.sampled_from(["x-source-topic", "x-source-partition", "x-source-offset",
                               "x-source-key", "x-caused-by"]), HEADER_VALUES),
    max_size=5,
)
ids = count(1)


@dataclass(frozen=True)
class Drawn:
    shape: str
    size: int
    fill: bytes
    topic: str
    key: str  # "none", "random", "own", "huge"
    random_key: bytes
    headers: list[tuple[str, bytes]]
    time: str


DRAWN = st.builds(
    Drawn,
    shape=st.sampled_from(SHAPES),
    size=SIZES,
    fill=st.binary(min_size=1, max_size=4),
    topic=st.sampled_from(INPUTS),
    key=st.sampled_from(["none", "random", "own", "huge"]),
    random_key=st.binary(max_size=40),
    headers=HEADERS,
    time=st.sampled_from(TIMES),
)


def declaration_id() -> str:
    return f"31002026{next(ids) + 7_000_000_000:010d}"[-18:]


def body(drawn: Drawn) -> tuple[bytes, str | None]:
    """The message a drawing describes, and the declaration id it is about (if any)."""
    n = drawn.size
    if drawn.shape == "fill":
        return (drawn.fill * (n // len(drawn.fill) + 1))[:n], None
    if drawn.shape == "nested":
        depth = max(n // 2, 1)
        return b"[" * depth + b"]" * depth, None
    if drawn.shape == "array":
        return b"[" + b"1," * max(n // 2 - 1, 0) + b"1]", None
    own = declaration_id()
    if drawn.shape == "far-time":
        return json.dumps({**filed(declaration_id=own), "occurred_at": drawn.time}).encode(), own
    if drawn.shape == "filing":
        padding = "p" * min(n, INPUT_LIMIT - 2048)  # unknown fields are ignored
        return json.dumps({**filed(declaration_id=own), "padding": padding}).encode(), own
    release = lifecycle("GoodsReleased", "2026-05-09T13:00:00+08:00", declaration_id=own)
    return json.dumps(release).encode(), own


def message(drawn: Drawn) -> Sent:
    value, own = body(drawn)
    topic = "declarations" if drawn.shape in ("far-time", "filing", "forged-release") \
        else drawn.topic
    keys = {"none": None, "random": drawn.random_key or None,
            "own": own.encode() if own else drawn.random_key or None, "huge": b"k" * HUGE_KEY}
    return Sent(topic, value, keys[drawn.key], list(drawn.headers))


def accounted_for(sent: dict[str, str | None], seen: Any) -> list[str]:
    """Each input ref that has no outcome, or more than one kind of outcome."""
    wrong = []
    for ref in sent:
        kinds = [ref in seen.dead_letters, ref in seen.repeats, ref in seen.caused]
        if sum(kinds) != 1:
            wrong.append(f"{ref}: {kinds}")
    return wrong


@pytest.mark.timeout(900)
async def test_no_hostile_batch_stops_the_worker_or_forges_a_status(
    pipeline_worker: tuple[Settings, WorkerProcess],
) -> None:
    settings_, worker = pipeline_worker
    # Each input message by its ref, with the topic its event type belongs on (None when
    # it names none): the bodies themselves, up to 8 MiB each, are not kept.
    sent_so_far: dict[str, str | None] = {}

    @given(st.lists(DRAWN, min_size=1, max_size=6))
    @example([  # always: the largest body with the largest key, and a forged release
        Drawn("fill", INPUT_LIMIT, b"\x01", "declarations", "huge", b"", [], TIMES[0]),
        Drawn("forged-release", 0, b"x", "declarations", "own", b"",
              [("x-source-topic", b"releases"), ("x-source-partition", b"0"),
               ("x-source-offset", b"5")], TIMES[0]),
    ])
    @settings(max_examples=8, deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate),  # a live broker: report, do not shrink
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow, HealthCheck.data_too_large])
    def batch(drawings: list[Drawn]) -> None:
        asyncio.run(check(drawings))

    async def check(drawings: list[Drawn]) -> None:
        sent = await send_all(settings_, [message(d) for d in drawings])
        sent_so_far.update({ref: event_topic(m.value) for ref, m in sent.items()})
        await wait_until_processed(settings_, worker, timeout=180)
        worker.check_alive()
        log = worker.log_tail(1_000_000)
        assert "Traceback" not in log and "crashed" not in log.lower()
        seen = await outcome(settings_)
        assert accounted_for(sent_so_far, seen) == []
        for ref, updates in seen.caused.items():
            topic = ref.split(":")[0]
            assert sent_so_far[ref] == topic, (ref, updates)
            assert all(u["status"] == "ACCEPTED" for u in updates)

    await asyncio.to_thread(batch)
    assert sent_so_far  # the suite published something
