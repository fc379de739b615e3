"""A minimal Faust agent over the same topics: parse each message, produce one record.

It shows what Faust itself costs per message on this machine, between the plain
aiokafka loop and the full pipeline. Run as ``python -m bench.faust_echo PREFIX GROUP
BOOTSTRAP [fixed]``; with ``fixed``, the project's Faust fixes (stream.runtime.faust_fixes) are
applied first. Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import timedelta
from typing import Any

import faust
import orjson

from bench.baseline import OUTPUT
from bench.harness import CAUSED_BY
from stream.topics import LIFECYCLE_INPUTS


def main(prefix: str, group: str, bootstrap: str, fixed: bool = False) -> None:
    if fixed:
        from stream.runtime import faust_fixes

        faust_fixes.apply()
    app = faust.App(
        group, broker=f"kafka://{bootstrap}", store="memory://", web_enabled=False,
        key_serializer="raw", value_serializer="raw", topic_disable_leader=True,
        broker_commit_interval=timedelta(seconds=1), autodiscover=False,
    )
    inputs = app.topic(*(f"{prefix}.{t}" for t in (*LIFECYCLE_INPUTS, "firms")))
    output = app.topic(f"{prefix}.{OUTPUT}")

    @app.agent(inputs)
    async def echo(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            with contextlib.suppress(orjson.JSONDecodeError):
                orjson.loads(message.value)
            cause = f"{message.topic.split('.', 1)[1]}:{message.partition}:{message.offset}"
            await output.send(key=message.key, value=message.value,
                              headers={CAUSED_BY: cause.encode()})

    worker = faust.Worker(app, loglevel="warning", redirect_stdouts=False,
                          loop=asyncio.new_event_loop())
    worker.spinner = None  # see stream.worker.process: the spinner puts the root logger on DEBUG
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], fixed=sys.argv[4:] == ["fixed"])
