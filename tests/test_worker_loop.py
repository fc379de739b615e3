import asyncio

import uvloop

from stream.settings import Settings
from stream.worker.process import new_loop


def test_the_worker_runs_on_uvloop_unless_asked_otherwise() -> None:
    loop = new_loop(Settings())
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    plain = new_loop(Settings(event_loop="asyncio"))
    try:
        assert not isinstance(plain, uvloop.Loop)
        assert isinstance(plain, asyncio.AbstractEventLoop)
    finally:
        plain.close()
