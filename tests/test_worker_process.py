"""Stopping worker processes: together, and within a bound even when one will not stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from stream.settings import Settings
from stream.worker.process import WorkerProcess, stop_all

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
POLITE = "import time; time.sleep(60)"


def child(code: str, tmp_path: Path) -> WorkerProcess:
    process = WorkerProcess(Settings(), tmp_path / "child.log")
    process.process = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.3)  # its signal handler is in place
    return process


def test_one_that_ignores_sigterm_is_killed_within_the_bound(tmp_path: Path) -> None:
    stubborn, polite = child(STUBBORN, tmp_path), child(POLITE, tmp_path)
    began = time.monotonic()
    assert stop_all([stubborn, polite], timeout=1.0) is False
    assert time.monotonic() - began < 3
    # Asked where it waits (SIGUSR1, which ends a process without the worker's handler),
    # then killed.
    assert stubborn.process is not None
    assert stubborn.process.returncode in (-signal.SIGUSR1, -signal.SIGKILL)
    assert polite.process is not None and polite.process.returncode == -15


def test_those_that_stop_are_not_killed(tmp_path: Path) -> None:
    polite = [child(POLITE, tmp_path) for _ in range(2)]
    assert stop_all(polite, timeout=5.0) is True
    assert all(p.process is not None and p.process.returncode == -15 for p in polite)


def test_one_never_started_or_already_ended_is_left_alone(tmp_path: Path) -> None:
    never = WorkerProcess(Settings(), tmp_path / "never.log")
    assert stop_all([never], timeout=0.1) is True
    assert never.stop() is True
