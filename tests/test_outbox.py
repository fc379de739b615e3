"""The outbox: a message's outputs leave after its table writes are stored, in order,
and the message is acknowledged (committable) only after its outputs are handed over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stream.runtime import outbox as outbox_module
from stream.runtime.outbox import Outbox, Output


class Event:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.acked = asyncio.Event()

    def ack(self) -> None:
        self.log.append(f"ack {self.name}")
        self.acked.set()


def output(name: str) -> Output:
    return ("topic", name.encode(), b"{}", None, None)


def recording(log: list[str]) -> Outbox:
    async def send(sent: list[Output]) -> None:
        log.extend(f"send {output[1]!r}" for output in sent)

    return Outbox(send)


def pending() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def handled(box: Outbox, log: list[str], name: str, *writes: asyncio.Future[Any],
                  outputs: tuple[str, ...] = ()) -> Event:
    """One message handled: its table writes, its outputs, then the seal."""
    box.writes.extend(writes)
    box.outputs.extend(output(o) for o in outputs)
    event = Event(name, log)
    await box.seal([event])
    return event


async def settle() -> None:
    """Turns of the event loop in which nothing may happen: only for what must not (what
    must happen is waited for, with ``acknowledged``)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def acknowledged(event: Event) -> None:
    await asyncio.wait_for(event.acked.wait(), timeout=5)


async def test_outputs_wait_for_the_writes_of_their_message_and_the_ack_for_the_outputs() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    first = await handled(box, log, "1", write, outputs=("a",))
    await settle()
    assert log == [] and box.held == 1  # the state is not stored yet: nothing leaves
    write.set_result(None)
    await acknowledged(first)
    assert log == ["send b'a'", "ack 1"] and box.held == 0


async def test_outputs_leave_in_the_order_they_were_made() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("first",))
    second = await handled(box, log, "2", outputs=("second",))  # no writes, yet waits
    await settle()
    assert log == []
    write.set_result(None)
    await acknowledged(second)
    assert log == ["send b'first'", "ack 1", "send b'second'", "ack 2"]


async def test_a_message_without_outputs_is_acknowledged_at_once() -> None:
    log: list[str] = []
    box = recording(log)
    await handled(box, log, "1", pending())  # the commit's flush delivers the write
    assert log == ["ack 1"] and box.writes == []


async def test_stored_writes_let_outputs_leave_at_once() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    write.set_result(None)
    await handled(box, log, "1", write, outputs=("a",))
    assert log == ["send b'a'", "ack 1"]


async def test_a_lost_write_stops_the_worker_before_its_outputs_leave(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[str] = []
    stopped: asyncio.Future[str] = pending()
    monkeypatch.setattr(outbox_module, "fail_stop", stopped.set_result)
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("a",))
    write.set_exception(RuntimeError("changelog down"))
    assert "lost" in await asyncio.wait_for(stopped, timeout=5)
    assert "ack 1" not in log


async def test_a_full_outbox_holds_the_handler_back() -> None:
    log: list[str] = []
    box = recording(log)
    box.limit = 4  # two messages, an output each
    write = pending()
    await handled(box, log, "0", write, outputs=("0",))
    box.writes.append(write)
    box.outputs.append(output("1"))
    second = asyncio.ensure_future(box.seal([Event("1", log)]))
    await settle()
    assert not second.done()  # two messages wait: the handler waits too
    write.set_result(None)
    await asyncio.wait_for(second, timeout=5)
    assert log[-1] == "ack 1"


async def test_messages_are_acknowledged_in_the_order_they_came() -> None:
    log: list[str] = []
    box = recording(log)
    write = pending()
    await handled(box, log, "1", write, outputs=("a",))
    second = await handled(box, log, "2")  # nothing to send, yet after message 1
    await settle()
    assert log == []
    write.set_result(None)
    await acknowledged(second)
    assert log == ["send b'a'", "ack 1", "ack 2"]
