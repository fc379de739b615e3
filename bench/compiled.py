"""What compiling the domain core with mypyc would save (a measurement, not a build step).

    python -m bench.compiled [--runs 3] [--events 20000] [--modules declaration,ledger,...]

Two copies of the committed tree (``git archive HEAD``) in a temporary folder: one as it
is, one with the core's modules compiled by mypyc (``CORE``, or those ``--modules``
names; the project is strictly typed, which mypyc needs). ``bench.inproc`` then runs in
each, alternating, ``--runs`` times, and the medians of the processor time per input
event are printed with their ratio. The worker never runs compiled code: this only says
what it would gain.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("declaration", "lifecycle", "eligibility", "decision", "ledger", "forecast_basis",
        "validation")  # the core's modules on the worker's path
PER_EVENT = re.compile(r"inproc: (\d+) µs of processor time per input event")


def export(into: Path) -> None:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    into.mkdir()
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def compile_core(tree: Path, modules: list[str]) -> None:
    mypyc = Path(sys.executable).with_name("mypyc")
    paths = [f"stream/core/{name}.py" for name in modules]
    done = subprocess.run([str(mypyc), *paths], cwd=tree, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"mypyc failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


def per_event(tree: Path, events: int) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "bench.inproc", "--events", str(events)], cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
        check=False,
    )
    found = PER_EVENT.search(done.stdout)
    if found is None:
        raise SystemExit(f"bench.inproc failed in {tree}: {done.stderr[-2000:]}")
    return int(found[1])


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--modules", default=",".join(CORE),
                        help="the core's modules to compile, comma-separated")
    return parser


def main() -> None:
    args = arguments().parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plain, compiled = Path(folder) / "plain", Path(folder) / "compiled"
        export(plain)
        export(compiled)
        compile_core(compiled, args.modules.split(","))
        figures: dict[str, list[int]] = {"plain": [], "compiled": []}
        for _ in range(args.runs):
            for name, tree in (("plain", plain), ("compiled", compiled)):
                figures[name].append(per_event(tree, args.events))
                print(f"{name:>8}: {figures[name][-1]} µs per input event", flush=True)
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(f"medians: plain {medians['plain']:.0f} µs, compiled {medians['compiled']:.0f} µs "
          f"per input event; compiled / plain {medians['compiled'] / medians['plain']:.2f}")


if __name__ == "__main__":
    main()
