"""What every agent does around the core: read provenance, publish records, forward
mis-keyed messages, and never let one message stop the agent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from faust.exceptions import NotReady, PartitionsMismatch, ProducerSendError
from pydantic import BaseModel

from schemas.outputs import Duplicate, ErrorCode
from stream.agents.slices import END, Slice, end_slices_when_cleared
from stream.codec import dumps
from stream.ingest import Decoded, Provenance, dead_letter, decode, decode_key
from stream.runtime.batches import hand_over, partition_for
from stream.runtime.faust_fixes import FlushFailed, fail_stop
from stream.runtime.faust_fixes.fetch_slices import FetchSlice, take, takes_slices
from stream.runtime.outbox import Outbox, Output
from stream.runtime.pipeline import Pipeline
from stream.topics import LIFECYCLE_INPUTS

log = logging.getLogger(__name__)

# Headers carried by a forwarded (re-keyed) message: where it was first read. They are
# believed only on the pipeline's own forwarding topics, which only its principal may
# write; on any other topic they are a producer's claim, and ignored.
H_TOPIC, H_PARTITION = "x-source-topic", "x-source-partition"
H_OFFSET, H_KEY = "x-source-offset", "x-source-key"
# Each forwarding topic, and the input topics whose messages it may carry.
FORWARDED_FROM: dict[str, frozenset[str]] = {
    "lifecycle-rekeyed": frozenset(LIFECYCLE_INPUTS),
    "firms-rekeyed": frozenset({"firms"}),
}
_MAX_KEY_BYTES = 1024  # a forwarded key is a validated id; anything longer is not ours


def now() -> datetime:
    return datetime.now(UTC)


def _headers(message: Any) -> dict[str, bytes]:
    headers = message.headers or {}
    return dict(headers.items() if isinstance(headers, dict) else headers)


def _count(raw: bytes | None) -> int | None:
    """A non-negative integer header (ASCII digits only), or None."""
    if raw is None or not 0 < len(raw) <= 19 or not raw.isdigit():
        return None
    return int(raw)


def _forwarded_from(bare: str, headers: dict[str, bytes]) -> Provenance | None:
    """The provenance a forwarded message carries, when it is read from a forwarding
    topic and every header is well formed; else None."""
    allowed = FORWARDED_FROM.get(bare)
    if allowed is None:
        return None
    topic = headers.get(H_TOPIC, b"").decode("ascii", "replace")
    partition, offset = _count(headers.get(H_PARTITION)), _count(headers.get(H_OFFSET))
    key = headers.get(H_KEY) or None
    if topic not in allowed or partition is None or offset is None:
        return None
    if key is not None and len(key) > _MAX_KEY_BYTES:
        return None
    return Provenance(topic, partition, offset, decode_key(key))


def provenance_of(pipeline: Pipeline, message: Any) -> tuple[Provenance, bytes | None]:
    """Where a message was first read, and its key as first published: where it was
    read from, except on a forwarding topic, whose headers name the input it forwards.
    A forwarding topic's message with headers that are missing or malformed keeps its
    own provenance, and so is judged as read from that topic (a WRONG_TOPIC dead
    letter). Never raises."""
    bare = pipeline.topology.bare(message.topic)
    if bare in FORWARDED_FROM:
        headers = _headers(message)
        forwarded = _forwarded_from(bare, headers)
        if forwarded is not None:
            return forwarded, headers.get(H_KEY) or None
    return Provenance(bare, message.partition, message.offset, decode_key(message.key)), \
        message.key


class Outlet:
    """Publishing for one agent; every record is JSON (orjson) with a text key. Records
    wait in the agent's outbox until the table writes of their message are stored."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.metrics = pipeline.metrics
        self.outbox = Outbox(self._hand_over)

    async def send(
        self, topic: str, key: str | None, record: BaseModel | dict[str, Any] | bytes | None,
        partition: int | None = None, headers: dict[str, bytes] | None = None,
    ) -> None:
        """Publish a record (a model, a JSON-able dict, bytes as they are, or None for a
        tombstone) once the current message's table writes are stored."""
        if isinstance(record, dict):  # the most of them: before pydantic's slower check
            value: bytes | None = dumps(record)
        elif isinstance(record, BaseModel):
            value = dumps(record.model_dump(mode="json"))
        else:
            value = record
        self.outbox.outputs.append((
            self.pipeline.topology.name(topic), key.encode() if key is not None else None,
            value, partition, list(headers.items()) if headers else None,
        ))

    async def _hand_over(self, outputs: list[Output]) -> None:
        # Straight to the producer, a batch per partition (stream.runtime.batches):
        # Faust's Topic.send machinery costs more than all of the domain logic. Faust
        # flushes this same producer before it commits offsets, so an output is on the
        # broker before the input that caused it is committed.
        for sent in await hand_over(self.pipeline.app.producer, outputs):
            sent.delivery.add_done_callback(_fail_stop_on_error)

    async def dead_letter(
        self, where: Provenance, value: bytes | None, code: ErrorCode, detail: str
    ) -> None:
        letter = dead_letter(where, value, code, detail, now())
        self.metrics.dead_letters.labels(where.topic, code.value).inc()
        await self.send("dead-letters", letter.key, letter)

    async def conflict(self, where: Provenance, value: bytes | None, event_id: str) -> None:
        detail = f"event_id {event_id!r} was seen before for this key with other content"
        await self.dead_letter(where, value, ErrorCode.EVENT_ID_CONFLICT, detail)

    async def duplicate(self, where: Provenance, event_id: str) -> None:
        self.metrics.duplicates.labels(where.topic).inc()
        record = Duplicate(
            source_topic=where.topic, partition=where.partition, offset=where.offset,
            key=where.key, event_id=event_id, received_at=now(),
        )
        await self.send("duplicates", where.key, record)

    async def forward(
        self, topic: str, where: Provenance, key: str, value: bytes | None,
        original_key: bytes | None,
    ) -> None:
        """Re-publish a message under its payload's key, keeping its provenance."""
        headers = {
            H_TOPIC: where.topic.encode(), H_PARTITION: str(where.partition).encode(),
            H_OFFSET: str(where.offset).encode(), H_KEY: original_key or b"",
        }
        await self.send(topic, key, value, headers=headers)

    async def broadcast(self, topic: str, key: str, record: dict[str, Any]) -> None:
        """A copy to every partition of ``topic``, so every worker learns of it."""
        for partition in range(self.pipeline.topology.partitions):
            await self.send(topic, key, record, partition=partition)


async def admitted(
    pipeline: Pipeline, outlet: Outlet, message: Any, rekeyed: str
) -> tuple[Provenance, Decoded] | None:
    """The message as a valid event in its key's partition, or None when it was dealt
    with here: dead-lettered, or forwarded to ``rekeyed`` under its payload's key."""
    where, original_key = provenance_of(pipeline, message)
    result = decode(where.topic, original_key, message.value)
    if not isinstance(result, Decoded):
        await outlet.dead_letter(where, message.value, result.code, result.detail)
        return None
    event = result.event
    if partition_for(event.key, pipeline.topology.partitions) != message.partition:
        await outlet.forward(rekeyed, where, event.key, message.value, original_key)
        return None
    pipeline.metrics.events_in.labels(where.topic, type(event).__name__).inc()
    return where, result


def _fail_stop_on_error(delivery: Any) -> None:
    """An output the producer gave up on must not be followed by the commit of its
    input: stop the process at once, before the commit goes out. The restarted worker
    reprocesses from the last commit, and outputs are idempotent (sequence numbers)."""
    if delivery.cancelled() or delivery.exception() is None:
        return
    fail_stop(f"an output could not be delivered ({delivery.exception()!r})")


# Failures of the infrastructure, not of the message: the message is not at fault, so it
# must not become a dead letter with its offset committed. The worker stops instead and
# its successor handles the message again. PartitionsMismatch: Faust checks a table's
# changelog against its source at the first write, from the consumer's metadata (a
# changelog not shown there yet is checked again later: Faust fix 12); a real mismatch
# is the cluster's configuration, never the message's (bench.soak once turned 286
# clearances into dead letters in a worker's first seconds).
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    KafkaError, ProducerSendError, NotReady, FlushFailed, OSError, TimeoutError,
    PartitionsMismatch,
)


async def guarded(
    pipeline: Pipeline, outlet: Outlet, agent: str, message: Any,
    on_message: Callable[[Any], Awaitable[None]],
) -> None:
    """Run one message's handling; if it raises, the message becomes a dead letter and
    the agent goes on (an exception escaping a Faust agent stops its partitions). Its
    provenance is worked out only then: a handler that succeeds reads it itself."""
    try:
        await on_message(message)
    except INFRASTRUCTURE_ERRORS as exc:
        where, _ = provenance_of(pipeline, message)
        fail_stop(f"handling {where.ref} met an infrastructure failure ({exc!r})")
    except Exception as exc:
        where, _ = provenance_of(pipeline, message)
        log.exception("processing %s failed", where.ref)
        outlet.metrics.processing_errors.labels(agent).inc()
        try:
            await outlet.dead_letter(
                where, message.value, ErrorCode.PROCESSING_ERROR,
                f"{type(exc).__name__}: {exc}"[:1000],
            )
        except Exception as lost:  # not even the dead letter could be sent
            fail_stop(f"the dead letter for {where.ref} could not be sent ({lost!r})")


def start_agent(
    pipeline: Pipeline, name: str, subscription: Any, outlet: Outlet,
    on_message: Callable[[Any], Awaitable[None]],
) -> Any:
    """A Faust agent that hands each message to ``on_message``, guarded, and seals the
    outbox once per slice of messages (``stream.agents.slices``). Its records come a
    partition's slice of a fetch at a time (Faust fix 10); single events (Faust's own
    way, as its test tools put them) are handled the same."""
    app, limit = pipeline.app, pipeline.settings.slice_events

    @app.agent(subscription, name=name)
    async def agent(stream: Any) -> None:
        queue, taken = stream.channel.queue, Slice(limit)
        takes_slices(stream.channel, limit, app.conf.stream_buffer_maxsize)
        end_slices_when_cleared(app, queue, taken)

        async def handle(event: Any, last: bool) -> None:
            done = taken.before(event)
            if done:
                await outlet.outbox.seal(done)
            await guarded(pipeline, outlet, name, event.message, on_message)
            done = taken.after(event, last and queue.empty())
            if done:
                await outlet.outbox.seal(done)

        # Acknowledged by the outbox, once the slice's outputs are handed over.
        unacked = stream.noack()
        async for value in unacked:
            if value is END:
                await outlet.outbox.seal(taken.end())
            elif type(value) is FetchSlice:
                messages = value.messages
                for n, message in enumerate(messages, 1):
                    # A turn of the loop a record, as Faust's stream gives: without it
                    # the other agents wait for a whole slice (firm facts came later,
                    # and 0.5 more records were written per input, bench.pipeline).
                    await asyncio.sleep(0)
                    event = take(app, message)
                    if event is None:
                        break  # of an earlier generation, like the rest of the slice
                    await handle(event, n == len(messages))
            else:
                await handle(unacked.current_event, True)

    return agent
