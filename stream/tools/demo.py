"""The demo: the local broker, a worker serving the API and the board, and simulated
traffic, under a fresh topic prefix. Ctrl-C stops everything it started."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

from stream.admin import ensure_topics
from stream.broker import LocalBroker
from stream.read.notify import manage
from stream.read.web import auth
from stream.settings import Settings
from stream.tools.publish import publish_traffic
from stream.tools.receiver import Receiver
from stream.tools.simulate import BUYERS, Traffic
from stream.topics import Topology
from stream.worker.process import WorkerProcess, stop_all

Say = Callable[[str], None]
STOP_WITHIN = 5.0  # seconds the demo's worker and notifier have to stop before a kill


def write_tokens(path: Path) -> dict[str, str]:
    """Fresh demo tokens (their hashes in ``path``): one for ops, one per buyer."""
    tokens = {"ops": auth.add(path, "ops", name="demo")[0]}
    tokens.update({buyer: auth.add(path, "buyer", buyer_id=buyer)[0] for buyer in BUYERS})
    return tokens


def wait_ready(url: str, worker: WorkerProcess, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.check_alive()
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the worker was not ready within {timeout:.0f}s; see {worker.log_file}")


async def traffic_until_interrupted(
    settings: Settings, traffic: Traffic, rate: float, notifier: WorkerProcess, say: Say,
) -> None:
    """Publish until Ctrl-C (SIGINT) or SIGTERM, with buyer-001 told by webhooks: a
    notifier, and a receiver on this machine that verifies what it gets. The signals set
    an event the publishing loop watches, rather than cancelling it: a cancellation can
    be swallowed on its way through a client library, and the demo then waited for ever."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    receiver = Receiver([])
    url = await receiver.start()
    try:
        _, secret = await manage.add(settings, "buyer-001", url)
        receiver.secrets.append(secret)
        notifier.start()
        say(f"  webhooks:      buyer-001's receiver shows what it got at {url[:-len('hook')]}\n")
        await publish_traffic(settings, traffic, rate, stop=stop)
    finally:
        await receiver.stop()


def run_demo(base: Settings, rate: float, seed: int | None, say: Say) -> None:
    broker = LocalBroker(base.cache_dir, base.broker_port)
    started_broker = not broker.status().running
    children: list[WorkerProcess] = []
    try:
        _run(broker, base, rate, seed, children, say)
    except KeyboardInterrupt:  # Ctrl-C before the traffic began
        pass
    finally:
        # Nothing interrupts the clean-up: a second Ctrl-C would leave the broker running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        say("stopping the worker, the notifier and the broker" if started_broker
            else "stopping the worker and the notifier")
        stop_children(children, say)
        if started_broker:
            broker.stop()


def stop_children(children: list[WorkerProcess], say: Say) -> None:
    """The worker and the notifier stop together; one that is still busy starting after
    STOP_WITHIN seconds is killed, which the pipeline is built to survive."""
    if not stop_all(children, STOP_WITHIN):
        logs = ", ".join(str(child.log_file) for child in children)
        say(f"  killed what had not stopped within {STOP_WITHIN:.0f}s (see {logs})")


def _run(broker: LocalBroker, base: Settings, rate: float, seed: int | None,
         children: list[WorkerProcess], say: Say) -> None:
    status = broker.start()
    run = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    tokens_file = base.cache_dir / "demo" / run / "tokens.toml"
    tokens = write_tokens(tokens_file)
    settings = base.model_copy(update={
        "broker": status.bootstrap, "topic_prefix": f"demo-{run}", "app_id": f"demo-{run}",
        "tokens_file": tokens_file, "web_enabled": True,
        "data_dir": base.cache_dir / "demo" / run / "worker",
        "notifier_id": f"demo-{run}-notifier", "webhook_http_loopback": True,
        "webhook_key": base.webhook_key or SecretStr(Fernet.generate_key().decode()),
    })
    worker = WorkerProcess(settings, settings.data_dir / "worker.log")
    notifier = WorkerProcess(settings, settings.data_dir.parent / "notifier.log", "notifier")
    children += [worker, notifier]
    asyncio.run(ensure_topics(settings.bootstrap_servers, Topology.from_settings(settings)))
    worker.start()
    web = f"http://{settings.web_host}:{settings.web_port}"
    say(f"broker at {status.bootstrap}; worker starting (log: {worker.log_file})")
    wait_ready(f"{web}/ready", worker)
    chosen = seed if seed is not None else random.SystemRandom().randrange(2**31)
    say(
        f"\n  status board:  {web}/board#token={tokens['ops']}\n"
        f"  buyer API:     curl -H 'Authorization: Bearer {tokens['buyer-001']}' "
        f"{web}/buyers/buyer-001/declarations\n"
        f"  metrics:       {web}/metrics\n"
        f"  tokens:        {tokens_file}\n"
        f"  traffic:       {rate}/s, --seed {chosen}, topics {settings.topic_prefix}.*\n"
        f"\n  Ctrl-C stops the demo.\n"
    )
    traffic = Traffic(chosen, datetime.now(UTC) - timedelta(days=10))
    asyncio.run(traffic_until_interrupted(settings, traffic, rate, notifier, say))
