"""Slices: an agent seals its outbox once for the messages it handled while more were
waiting, not once per message. The writes of a slice to one key are then stored once
(``stream.runtime.heldtable``), and its outputs wait for them all.

A slice never waits for a message: it is sealed as soon as the agent's queue is empty,
so a message that arrives alone is sealed alone, as soon as it is handled. It never
spans a rebalance: a message of another consumer generation seals the slice before it
is handled (Faust skips messages fetched in an earlier generation; those of the slice
were handled in theirs). And a rebalance never waits for a slice: Faust clears the
agents' queues when one begins, then waits until every message taken is acknowledged,
so a queue cleared under an unsealed slice is given ``END``, which seals it. Outputs are
never merged: every change of a declaration's view is still its own status update, in
order."""

from __future__ import annotations

from typing import Any

END = object()  # put in an agent's queue: seal the slice now


class Slice:
    """The messages (Faust events) an agent handled since it last sealed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # most messages in one slice
        self.events: list[Any] = []

    def before(self, event: Any) -> list[Any]:
        """What must be sealed before ``event`` is handled: the slice, when ``event``
        comes from another consumer generation than the slice's."""
        events = self.events
        if events and events[0].message.generation_id != event.message.generation_id:
            self.events = []
            return events
        return []

    def after(self, event: Any, queue_empty: bool) -> list[Any]:
        """What must be sealed once ``event`` is handled: the slice with it, when no
        message waits or the slice is full."""
        self.events.append(event)
        if queue_empty or len(self.events) >= self.limit:
            events, self.events = self.events, []
            return events
        return []

    def end(self) -> list[Any]:
        """What must be sealed when ``END`` is read: the slice, whatever its size."""
        events, self.events = self.events, []
        return events


def end_slices_when_cleared(app: Any, queue: Any, taken: Slice) -> None:
    """When Faust clears the agents' queues (a rebalance begins, or the flow resumes),
    give ``queue`` an ``END`` if ``taken`` is not sealed: its agent would otherwise wait
    for a message that is not coming, and Faust for the agent's acknowledgements."""
    flow = app.flow_control
    if "_cs_slices" not in flow.__dict__:
        watched: list[tuple[Any, Slice]] = []
        flow.__dict__["_cs_slices"] = watched
        clear = flow.clear

        def clear_and_end_slices() -> None:
            clear()
            for cleared, pending in watched:
                if pending.events:
                    cleared.force_put_nowait(END)  # past the flow control, suspended

        flow.clear = clear_and_end_slices
    flow.__dict__["_cs_slices"].append((queue, taken))
