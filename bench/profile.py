"""A sampling profile of a running process (py-spy), summed by function's own time.

Used by ``python -m bench.pipeline --profile``: each loop is sampled while it works
through the preloaded stream (every thread: Faust's consumer runs in a thread of its
own), and its share of samples by thread and the top entries by own time are printed.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


class Profile:
    """py-spy recording a process until ``stop``; raw (collapsed) stacks in ``path``."""

    def __init__(self, pid: int, path: Path, rate: int = 200) -> None:
        beside = Path(sys.executable).parent / "py-spy"  # in a virtualenv not activated
        py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("py-spy is needed for --profile: pip install py-spy")
        self.path = path
        self.process = subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
             "--output", str(path), "--nonblocking", "--threads"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        self.process.wait(60)


def own_time(collapsed: str) -> Counter[str]:
    """Samples per function in which it was running itself (the innermost frame)."""
    totals: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        match = FRAME.match(leaf)
        name = leaf
        if match:
            where = match["file"].split("site-packages/")[-1].split("/main/")[-1]
            name = f"{match['function']} ({where})"
        totals[name] += int(count)
    return totals


THREAD = re.compile(r"^thread \(\d+\): (?P<name>[^;]*);")


def by_thread(collapsed: str) -> Counter[str]:
    """Samples per thread (by name), when the stacks were recorded with ``--threads``."""
    totals: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        match = THREAD.match(stack)
        if match and count.isdigit():
            totals[match["name"]] += int(count)
    return totals


def threads(collapsed: str) -> str:
    totals = by_thread(collapsed)
    every = sum(totals.values()) or 1
    return ", ".join(f"{name} {100 * c / every:.0f}%" for name, c in totals.most_common())


def top(collapsed: str, n: int = 15) -> list[str]:
    totals = own_time(collapsed)
    every = sum(totals.values()) or 1
    return [f"{100 * c / every:5.1f}%  {name}" for name, c in totals.most_common(n)]
