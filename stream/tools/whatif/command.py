"""The ``whatif`` command's work, apart from its options: load both policies, read the
source with a progress bar, and build the report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from stream.core.policy import Policy
from stream.settings import Settings, policy_of
from stream.tools.whatif.run import WhatIf, Window
from stream.topics import Topology

__all__ = ["Request", "UsageError", "Window", "run"]
from stream.tools.whatif import sources


class UsageError(ValueError):
    """The options do not describe a run."""


@dataclass(frozen=True)
class Request:
    proposed: Path
    baseline: Path | None  # None: the pipeline's own policy file
    events: Path | None  # None: the broker's input topics
    window: Window
    progress: bool


def policies(request: Request, settings: Settings) -> tuple[Policy, Policy]:
    """Both policies, with the deployment's secret sampling salt when it is set, so that
    sampled inspections are drawn as the pipeline draws them."""
    proposed = settings.model_copy(update={"policy_file": request.proposed})
    baseline = settings if request.baseline is None else settings.model_copy(
        update={"policy_file": request.baseline})
    return policy_of(baseline), policy_of(proposed)


@contextmanager
def _bar(enabled: bool, doing: str, unit: str) -> Iterator[sources.Progress]:
    columns = (TextColumn(doing), BarColumn(), TaskProgressColumn(),
               TextColumn(f"{{task.completed:,}}/{{task.total:,}} {unit}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not enabled,
                  transient=True) as bar:
        task = bar.add_task(doing, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def run(request: Request, settings: Settings) -> dict[str, Any]:
    baseline, proposed = policies(request, settings)
    whatif = WhatIf(baseline, proposed, request.window)
    try:
        if request.events is not None:
            with _bar(request.progress, "reading", "bytes") as progress:
                sources.read_file(request.events, whatif.feed, progress)
            source = str(request.events)
        else:
            topology = Topology.from_settings(settings)
            with _bar(request.progress, "reading", "messages") as progress:
                asyncio.run(sources.read_topics(settings.bootstrap_servers, topology, whatif.feed,
                                        progress))
            source = f"the input topics {topology.prefix}.* at {settings.bootstrap_servers}"
        with _bar(request.progress, "deciding", "declarations") as progress:
            report = whatif.report(progress)
    finally:
        whatif.close()
    window = request.window
    return {
        "policies": {
            "baseline": {"version": baseline.version,
                         "file": str(request.baseline or settings.policy_file)},
            "proposed": {"version": proposed.version, "file": str(request.proposed)},
        },
        "source": source,
        "since": window.since.isoformat() if window.since else None,
        "until": window.until.isoformat() if window.until else None,
    } | report
