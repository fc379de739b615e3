"""How well the forecast of release is calibrated (a measurement, not a test).

    python -m bench.eta [--seed 11] [--history-days 60] [--days 30] [--tail-days 30]
                        [--every HOURS]

The simulator's traffic is written to an events file: ``--history-days`` of history, then
the month whose forecasts are scored, then ``--tail-days`` in which most of them come
true. ``customs-stream eta-check --since --until --json`` runs on it in a child process,
and on every scenario of tests/scenarios; prints, for the conditional forecast and the
naive one, the share of releases inside [p10, p90], the share by p50, the Brier score
of p_within_24h and the mean width of [p10, p90]. ``--every``: also forecast each open
declaration that many hours apart (``eta-check --every``), as a buyer polling the API.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stream.ingest import Decoded, decode
from stream.tools.scenario import events_line
from stream.tools.simulate import Traffic

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 1, 1, tzinfo=UTC)


def write_events(path: Path, seed: int, days: float) -> int:
    """The simulator's traffic of ``days`` from START (bad messages included)."""
    end, written = START + timedelta(days=days), 0
    with path.open("w") as out:
        for message in Traffic(seed, START):
            decoded = decode(message.topic, message.key, message.value)
            if isinstance(decoded, Decoded) and decoded.event.occurred_at >= end:
                break
            out.write(events_line(message.topic, message.key, message.value))
            written += 1
    return written


def eta_check(events: Path, *window: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "stream", "eta-check", str(events), "--json", *window],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"eta-check failed on {events}: {done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def figures(score: dict[str, Any]) -> str:
    if not score["scored"]:
        return "nothing scored"
    return (f"{score['scored']:>6} scored, inside [p10, p90] {score['coverage_p10_p90']:.1%}, "
            f"by p50 {score['share_before_p50']:.1%}, Brier {score['brier_24h']:.4f}, "
            f"width {score['mean_width_hours']:.1f} h")


def show(name: str, report: dict[str, Any]) -> None:
    print(f"{name}: {report['forecasts_made']} forecasts, "
          f"{report['insufficient_history']} without enough history, "
          f"{report['never_released']} never released; meets the targets: "
          f"{'yes' if report['meets_targets'] else 'no'}")
    print(f"  conditional {figures(report)}")
    print(f"  naive       {figures(report['naive'])}")
    waited = report["after_waiting"]
    if waited["conditional"]["scored"]:
        print("  made after some time waited:")
        print(f"    conditional {figures(waited['conditional'])}")
        print(f"    naive       {figures(waited['naive'])}")


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--history-days", type=float, default=60.0)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--tail-days", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=None)
    return parser


def main() -> None:
    args = arguments().parse_args()
    since = START + timedelta(days=args.history_days)
    until = since + timedelta(days=args.days)
    every = ["--every", str(args.every)] if args.every else []
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "traffic.jsonl"
        count = write_events(events, args.seed, args.history_days + args.days + args.tail_days)
        print(f"simulator, seed {args.seed}: {count} messages; forecasts scored from "
              f"{since:%Y-%m-%d} to {until:%Y-%m-%d}")
        show("simulator", eta_check(events, "--since", since.isoformat(),
                                    "--until", until.isoformat(), *every))
    for scenario in sorted((ROOT / "tests" / "scenarios").glob("*/events.jsonl")):
        show(scenario.parent.name, eta_check(scenario, *every))


if __name__ == "__main__":
    main()
