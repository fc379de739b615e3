"""The pipeline's commands: topics, worker, api, replay, whatif, simulate, demo."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from stream.broker import BrokerError
from stream.cli.common import fail as _fail
from stream.cli.common import instant
from stream.cli.common import settings_or_exit as _settings

app = typer.Typer(
    help="Real-time tracking of export customs declarations over Kafka.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


@app.command()
def topics() -> None:
    """Create the pipeline's topics that do not exist yet."""
    from stream.admin import BrokerUnavailable, TopologyError, ensure_topics
    from stream.topics import Topology

    settings = _settings()
    try:
        created = asyncio.run(
            ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings))
        )
    except (BrokerUnavailable, TopologyError) as exc:
        _fail(str(exc))
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


@app.command()
def worker() -> None:
    """Run a pipeline worker until interrupted."""
    from stream.admin import BrokerUnavailable, TopologyError
    from stream.core.policy import PolicyError
    from stream.malloc import limit_arenas
    from stream.read.web.auth import TokensError
    from stream.read.web.tls import WebTlsError
    from stream.worker.process import run_worker

    limit_arenas()
    try:
        run_worker(_settings())
    except (BrokerUnavailable, PolicyError, TokensError, TopologyError, WebTlsError) as exc:
        _fail(str(exc))


@app.command()
def notifier() -> None:
    """Deliver status updates to buyers' webhook subscriptions until interrupted: run
    more of them to share the work."""
    from stream.admin import BrokerUnavailable, TopologyError
    from stream.malloc import limit_arenas
    from stream.read.notify.subscriptions import SubscriptionError
    from stream.worker.process import run_notifier

    limit_arenas()
    try:
        run_notifier(_settings())
    except (BrokerUnavailable, SubscriptionError, TopologyError) as exc:
        _fail(str(exc))


@app.command()
def api() -> None:
    """Serve the HTTP API and the status board from the pipeline's output topics, without
    processing anything: run as many as the reading load needs."""
    from stream.core.policy import PolicyError
    from stream.malloc import limit_arenas
    from stream.read.replica import serve
    from stream.read.web.auth import TokensError
    from stream.read.web.tls import WebTlsError

    limit_arenas()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    typer.echo(f"api: serving http://{settings.web_host}:{settings.web_port} "
               f"(read model in {settings.data_dir / 'api' / settings.topic_prefix})", err=True)
    try:
        asyncio.run(serve(settings))
    except (TokensError, PolicyError, WebTlsError) as exc:
        _fail(str(exc))


@app.command()
def replay(
    events: Annotated[Path, typer.Argument(help="A scenario's events.jsonl")],
    expect: Annotated[
        Path | None, typer.Option(help="expected.json to compare with; exit 1 on a difference")
    ] = None,
    keep_topics: Annotated[bool, typer.Option(help="Keep the run's topics afterwards")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at each barrier")] = 120.0,
    kill_worker: Annotated[
        int, typer.Option(help="SIGKILL a worker this many times (and restart it)", min=0)
    ] = 0,
    restart_broker: Annotated[
        int, typer.Option(help="SIGKILL the local broker this many times and restart it", min=0)
    ] = 0,
    workers: Annotated[int, typer.Option(help="Workers in the consumer group", min=1)] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the fault moments")] = 0,
    brokers: Annotated[
        int, typer.Option(help="Run on a local cluster of this many nodes, of the run's own "
                               "(ports from the local broker's + 500)", min=1, max=9)
    ] = 1,
    kill_broker: Annotated[
        int, typer.Option(help="SIGKILL the cluster's busiest leader this many times "
                               "(and restart it)", min=0)
    ] = 0,
) -> None:
    """Replay a scenario through real workers and print the result document; with
    faults, also audit what a buyer would have seen (exit 1 if it stepped backwards)."""
    from stream.admin import BrokerUnavailable
    from stream.tools.faults import FaultPlan, run_with_faults
    from stream.tools.replay import ReplayError
    from stream.tools.replay import replay as run_replay
    from stream.tools.scenario import ScenarioError, differences, read_scenario
    from stream.worker.process import WorkerExited

    settings = _settings()
    plan = FaultPlan(kill_worker, restart_broker, workers, seed, brokers, kill_broker)
    audit = None
    try:
        steps = read_scenario(events)
        expected = json.loads(expect.read_text()) if expect else None
        progress = lambda text: typer.echo(f"replay: {text}", err=True)  # noqa: E731
        if plan == FaultPlan(seed=seed):
            result = asyncio.run(run_replay(steps, settings, progress, timeout, keep_topics))
        else:
            result, audit = asyncio.run(
                run_with_faults(steps, settings, plan, progress, timeout, keep_topics)
            )
            typer.echo(f"replay: {audit.line()}", err=True)
    except (ScenarioError, BrokerUnavailable, ReplayError, WorkerExited, OSError) as exc:
        _fail(str(exc))
    except json.JSONDecodeError as exc:
        _fail(f"{expect} is not JSON: {exc}")
    sys.stdout.write(json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    if expected is not None:
        found = differences(expected, result)
        for line in found:
            typer.echo(f"differs: {line}", err=True)
        unsound = audit is not None and not audit.sound
        if unsound:
            typer.echo("differs: a buyer would have seen a wrong status (see the audit)", err=True)
        if found or unsound:
            raise typer.Exit(1)
        typer.echo("replay: result agrees with the expected document", err=True)


@app.command()
def whatif(
    policy: Annotated[Path, typer.Option("--policy", help="The proposed policy file")],
    events: Annotated[
        Path | None, typer.Argument(help="An events file (the scenario format)", show_default=False)
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="The policy in force (default: CUSTOMS_STREAM_POLICY_FILE's)"),
    ] = None,
    from_broker: Annotated[
        bool, typer.Option("--from-broker", help="Read the input topics on the broker instead")
    ] = False,
    since: Annotated[str | None, typer.Option(help="Declarations decided from (RFC 3339)")] = None,
    until: Annotated[str | None, typer.Option(help="... and before (RFC 3339)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    html: Annotated[Path | None, typer.Option(help="Also write the report as an HTML page")] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal")
    ] = None,
) -> None:
    """What a proposed policy would have changed: every declaration of an events file or
    of the input topics, decided under both policies (nothing is written to the broker)."""
    from stream.admin import BrokerUnavailable
    from stream.core.policy import PolicyError
    from stream.tools.scenario import ScenarioError
    from stream.tools.whatif import command, render
    from stream.tools.whatif.sources import SourceError

    settings = _settings()
    try:
        if (events is None) == (not from_broker):
            raise command.UsageError("give an events file or --from-broker (one of them)")
        window = command.Window(instant(since, "--since"), instant(until, "--until"))
        request = command.Request(policy, baseline, events, window,
                                  sys.stderr.isatty() if progress is None else progress)
        report = command.run(request, settings)
        if html is not None:
            html.write_text(render.to_html(report), encoding="utf-8")
    except (command.UsageError, PolicyError, ScenarioError, SourceError, BrokerUnavailable,
            OSError) as exc:
        _fail(str(exc), 2 if isinstance(exc, command.UsageError) else 1)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    else:
        render.to_terminal(report, render.console())
    if html is not None:
        typer.echo(f"whatif: report written to {html}", err=True)


@app.command()
def simulate(
    rate: Annotated[float, typer.Option(help="Messages per second", min=0.1)] = 50.0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds to run (default: until interrupted)")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many messages")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed: the same seed, the same traffic")] = None,
    start: Annotated[
        str | None, typer.Option(help="Simulated start time (RFC 3339); default: 10 days ago")
    ] = None,
) -> None:
    """Publish realistic port traffic to the input topics."""
    import random
    from datetime import UTC, datetime, timedelta

    from stream.admin import BrokerUnavailable, ensure_topics
    from stream.tools.publish import publish_traffic
    from stream.tools.simulate import Traffic
    from stream.topics import Topology

    settings = _settings()
    begin = instant(start, "--start") or datetime.now(UTC) - timedelta(days=10)
    chosen = seed if seed is not None else random.SystemRandom().randrange(2**31)
    typer.echo(f"simulating with --seed {chosen} at {rate}/s", err=True)
    progress = lambda text: typer.echo(f"simulate: {text}", err=True)  # noqa: E731
    try:
        asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
        sent = asyncio.run(
            publish_traffic(settings, Traffic(chosen, begin), rate, duration, count, progress)
        )
    except BrokerUnavailable as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    typer.echo(f"simulate: done, {sent} messages", err=True)


@app.command()
def demo(
    rate: Annotated[float, typer.Option(help="Simulated messages per second", min=0.1)] = 40.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the simulated traffic")] = None,
) -> None:
    """Broker, worker, simulated traffic and the live status board; Ctrl-C stops all."""
    from stream.tools.demo import run_demo

    try:
        run_demo(_settings(), rate, seed, lambda text: typer.echo(text, err=True))
    except (BrokerError, RuntimeError) as exc:
        _fail(str(exc))
