from __future__ import annotations

from faust.types.tuples import TP

from stream.runtime.watchdog import CommitWatch

TP0 = TP("customs.declarations", 0)


def test_a_partition_stuck_behind_its_highwater_is_stalled_after_the_timeout() -> None:
    watch = CommitWatch(timeout=60)
    assert not watch.stalled(TP0, 10, 15, now=0)
    assert not watch.stalled(TP0, 10, 15, now=59)
    assert watch.stalled(TP0, 10, 15, now=61)


def test_progress_or_nothing_to_do_is_not_a_stall() -> None:
    watch = CommitWatch(timeout=60)
    watch.stalled(TP0, 10, 15, now=0)
    assert not watch.stalled(TP0, 12, 15, now=50)  # the commit moved
    assert not watch.stalled(TP0, 12, 15, now=100)
    assert not watch.stalled(TP0, 15, 15, now=500)  # all committed
    assert not watch.stalled(TP0, 15, 15, now=1000)


def test_a_partition_never_committed_with_messages_waiting_stalls_too() -> None:
    watch = CommitWatch(timeout=60)
    assert not watch.stalled(TP0, None, 3, now=0)
    assert watch.stalled(TP0, None, 3, now=61)
    watch.forget()
    assert not watch.stalled(TP0, None, 3, now=62)
