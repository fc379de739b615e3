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
