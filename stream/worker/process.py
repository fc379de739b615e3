"""Run one pipeline worker in this process until it is stopped (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import faust
from pydantic import SecretStr

from stream import kafka
from stream.admin import ensure_topics
from stream.runtime import heap
from stream.settings import Settings
from stream.topics import Topology
from stream.worker.app import build_pipeline


def run_worker(settings: Settings) -> None:
    """Declare the topology (idempotent), then run the Faust worker; blocks."""
    kafka.configure(settings)
    asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
    _run(build_pipeline(settings).app, settings)


def run_notifier(settings: Settings) -> None:
    """Declare the topology (idempotent), then run a notifier; blocks."""
    from stream.read.notify.notifier import build_notifier

    kafka.configure(settings)
    asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
    _run(build_notifier(settings).app, settings)


def _run(app: faust.App, settings: Settings) -> None:
    heap.set_young_threshold(settings.gc_young_threshold)
    worker = _Worker(
        app,
        loglevel=settings.log_level,
        redirect_stdouts=False,
        loop=new_loop(settings),
    )
    # Faust's terminal spinner sets the root logger to DEBUG so that it can spin on every
    # record: every debug call in Faust and aiokafka then builds a LogRecord, which cost
    # a third of the worker's time. No spinner, and the log level is the one asked for.
    worker.spinner = None
    loop = worker.loop
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks, loop)
    worker.execute_from_commandline()


class _Worker(faust.Worker):
    async def on_startup_finished(self) -> None:
        """Started and recovered: what the worker holds now lives as long as it does."""
        await super().on_startup_finished()
        heap.freeze_what_start_up_made()


def new_loop(settings: Settings) -> asyncio.AbstractEventLoop:
    """The worker's event loop: uvloop unless asyncio's own is asked for."""
    if settings.event_loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _dump_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """On SIGUSR1, write where every task of the worker is waiting (for a stuck worker)."""
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        out.write(f"--- {task.get_name()} {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    sys.stderr.write(out.getvalue())
    sys.stderr.flush()


KILL_AFTER = 20.0  # seconds a stopped worker may take before it is killed


class WorkerExited(RuntimeError):
    """The worker process ended on its own; the message holds the end of its log."""


def _worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    dumped = settings.model_dump(mode="json")
    for name, value in dumped.items():
        secret = getattr(settings, name)
        if isinstance(secret, SecretStr):  # the JSON form masks it
            value = secret.get_secret_value()
        if value is not None:
            text = json.dumps(value) if isinstance(value, list | dict) else str(value)
            env[f"CUSTOMS_STREAM_{name.upper()}"] = text
    env["CUSTOMS_STREAM_LOG_LEVEL"] = os.environ.get("CUSTOMS_STREAM_WORKER_LOG_LEVEL", "warning")
    return env


class WorkerProcess:
    """A pipeline worker (or, with ``command="notifier"``, a notifier) in a child process,
    its output in a log file."""

    def __init__(self, settings: Settings, log_file: Path, command: str = "worker") -> None:
        self.settings, self.log_file, self.command = settings, log_file, command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        # Appended to: a restarted process keeps the log of the one before (killed, perhaps).
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stream", self.command],
                env=_worker_env(self.settings), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise WorkerExited(
                f"the worker exited ({self.process.returncode}):\n{self.log_tail()}"
            )

    def stop(self, timeout: float = KILL_AFTER) -> bool:
        """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds; True when
        it ended by itself. The pipeline is safe against a kill (nothing it acknowledged is
        lost), so a bound on stopping costs nothing but a restore on the next start."""
        return stop_all([self], timeout)

    def _terminate(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return False
        self.process.terminate()
        return True

    def _wait_or_kill(self, deadline: float) -> bool:
        assert self.process is not None
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
            return True
        except subprocess.TimeoutExpired:
            # Where it was stuck goes into its log first (SIGUSR1: see _dump_tasks).
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGUSR1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.5)
            self.process.kill()
            self.process.wait()
            return False


def stop_all(processes: list[WorkerProcess], timeout: float) -> bool:
    """Stop the processes together (SIGTERM to all, then wait), each killed if it has not
    ended ``timeout`` seconds after the signal; True when all ended by themselves."""
    deadline = time.monotonic() + timeout
    running = [process for process in processes if process._terminate()]
    # A list, not a generator: all() would stop at the first one killed and leave the
    # rest unwaited for.
    return all([process._wait_or_kill(deadline) for process in running])
