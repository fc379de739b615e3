"""``customs-stream eta-check``: how well the forecast of release comes true on an events
file (in process, no broker)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from stream.cli.common import fail, instant
from stream.cli.common import settings_or_exit as _settings


def eta_check(
    events: Annotated[Path, typer.Argument(help="An events file (the scenario format)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report, with every forecast, as JSON")
    ] = False,
    window_days: Annotated[
        int, typer.Option(help="Days of clearances a forecast reads", min=1)
    ] = 90,
    since: Annotated[
        str | None, typer.Option(help="Keep the forecasts made from (RFC 3339); the events "
                                 "before are history")
    ] = None,
    until: Annotated[str | None, typer.Option(help="... and before (RFC 3339)")] = None,
    every: Annotated[
        float | None, typer.Option(help="Also forecast each open declaration this many "
                                   "hours apart from its filing (as a buyer polling the API)",
                                   min=0.01)
    ] = None,
) -> None:
    """Forecast every open declaration of an events file at each change of its status,
    from what was known then, and compare with when it was released: coverage of
    [p10, p90], the share released by p50, the reliability of p_within_24h, against the
    naive forecast (the group's figures, whatever the time already waited)."""
    from stream.core.policy import PolicyError
    from stream.settings import policy_of
    from stream.tools.eta.check import check_file
    from stream.tools.eta.report import lines, report
    from stream.tools.scenario import ScenarioError

    window = instant(since, "--since"), instant(until, "--until")
    try:
        document = report(check_file(events, policy_of(_settings()), window_days, *window,
                                     every=timedelta(hours=every) if every else None))
    except (PolicyError, ScenarioError, OSError) as exc:
        fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        return
    for line in lines(document):
        typer.echo(line)
