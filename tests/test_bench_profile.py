from bench.profile import own_time, top

STACKS = """\
<module> (m.py:3);run (asyncio/base_events.py:10);view_of (stream/core/declaration.py:170) 30
<module> (stream/__main__.py:3);run (asyncio/base_events.py:10) 10
<module> (stream/__main__.py:3);loads (/x/site-packages/orjson/__init__.py:1) 60
"""


def test_own_time_counts_the_innermost_frame_by_function() -> None:
    totals = own_time(STACKS)
    assert totals["loads (orjson/__init__.py)"] == 60
    assert totals["view_of (stream/core/declaration.py)"] == 30
    assert totals["run (asyncio/base_events.py)"] == 10
    assert top(STACKS, 1) == [" 60.0%  loads (orjson/__init__.py)"]


def test_samples_are_counted_by_thread_when_recorded_with_threads() -> None:
    from bench.profile import by_thread, threads

    stacks = (
        "thread (8712): consumer;Thread.run (threading.py:982);getmany (x.py:4) 46\n"
        "thread (8710): MainThread;<module> (m.py:5);busy (m.py:4) 62\n"
        "thread (8712): consumer;Thread.run (threading.py:982);poll (x.py:9) 4\n"
    )
    assert by_thread(stacks) == {"MainThread": 62, "consumer": 50}
    assert threads(stacks) == "MainThread 55%, consumer 45%"
    assert own_time(stacks)["getmany (x.py)"] == 46  # the innermost frame, as before
