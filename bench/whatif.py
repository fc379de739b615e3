"""Memory and time of a what-if run as its input grows (a measurement, not a test).

    python -m bench.whatif [--sizes 100000,1000000] [--firms 400] [--seed 11]

For each size, the simulator's traffic (bad and repeated messages included) is written
to an events file, and ``customs-stream whatif --json`` runs on it in a child process,
with Shanghai and Dalian added to the green channel's scope. Prints the declarations
decided, the wall time and the child's peak resident memory (from ``wait4``), so that
memory can be compared across sizes measured in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from stream.tools.scenario import events_line
from stream.tools.simulate import Traffic

ROOT = Path(__file__).resolve().parents[1]
SCOPE = 'scope = [{ port = "CNNGB", port_area = "BEILUN" }]'
WIDER = 'scope = [{ port = "CNNGB", port_area = "BEILUN" }, { port = "CNSHA" }, { port = "CNDLC" }]'


def write_events(path: Path, count: int, firms: int, seed: int) -> None:
    traffic = Traffic(seed, datetime(2025, 1, 1, tzinfo=UTC), firms=firms,
                      declarations_per_hour=60.0)
    with path.open("w") as out:
        for message in itertools.islice(traffic, count):
            out.write(events_line(message.topic, message.key, message.value))


def run_whatif(events: Path, policy: Path) -> tuple[dict[str, object], float, float]:
    """The report, the seconds it took and the child's peak RSS in MB."""
    began = time.monotonic()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "stream", "whatif", "--policy", str(policy), str(events),
             "--json", "--no-progress"], stdout=out, cwd=ROOT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - began
        if child.returncode != 0:
            raise SystemExit(f"whatif failed on {events} (exit {child.returncode})")
        out.seek(0)
        report = json.loads(out.read())
    return report, seconds, usage.ru_maxrss / 1024  # Linux gives kilobytes


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="input sizes in messages, comma-separated")
    parser.add_argument("--firms", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    return parser


def main() -> None:
    args = arguments().parse_args()
    policy_text = (ROOT / "stream" / "policy.toml").read_text()
    assert SCOPE in policy_text
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "wider.toml"
        policy.write_text(policy_text.replace(SCOPE, WIDER))
        for size in (int(s) for s in args.sizes.split(",")):
            events = Path(folder) / f"events-{size}.jsonl"
            write_events(events, size, args.firms, args.seed)
            megabytes = events.stat().st_size / 1e6
            report, seconds, rss = run_whatif(events, policy)
            rows.append((size, megabytes, report["declarations"], report["changed"],
                         seconds, rss))
            print(f"{size:>10,} messages ({megabytes:,.0f} MB): {report['declarations']:,} "
                  f"declarations, {report['changed']:,} would change; {seconds:,.1f} s, "
                  f"peak RSS {rss:,.0f} MB", flush=True)
            events.unlink()
    first = rows[0]
    for size, *_, rss in rows[1:]:
        print(f"peak RSS at {size:,} / at {first[0]:,}: {rss / first[5]:.2f}")


if __name__ == "__main__":
    main()
