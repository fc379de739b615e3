"""Webhook deliveries under a failing receiver and killed notifiers (a benchmark, not a
test).

    python -m bench.webhooks [--events 3000] [--rate 40] [--fail-for 60] [--fail-share 0.1]
                             [--kills 2] [--seed 7]

A worker and a notifier on the local broker; every buyer of the simulated traffic
subscribes a receiver on 127.0.0.1 that verifies signatures with the ``standardwebhooks``
package. The receiver answers 500 for its first ``--fail-for`` seconds, then to a random
``--fail-share`` of deliveries. The notifier is SIGKILLed ``--kills`` times at random
moments (and started again). Prints deliveries per second, the delay from a status
update's publication to its first successful delivery once the receiver is healthy
(p50/p99), and the three counts that must be 0:

    never delivered: N
    lower sequence after higher: N
    bad signatures: N
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import time
from datetime import datetime

import orjson

from bench.harness import generate
from stream.read.notify import manage
from stream.settings import Settings
from stream.tools.receiver import Received, Receiver
from stream.tools.replay import ReplayRun, delete_topics, read_records
from stream.topics import Topology
from stream.worker.process import WorkerProcess

BUYERS = [f"buyer-{n:03d}" for n in range(1, 13)]


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Webhooks under failures and notifier kills")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=40.0, help="input events a second")
    parser.add_argument("--fail-for", type=float, default=60.0)
    parser.add_argument("--fail-share", type=float, default=0.1)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--first-retry", type=float, default=1.0,
                        help="seconds before a failed delivery's first retry (the "
                        "setting's default is 5; doubled each time up to an hour)")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="most seconds to wait for the last delivery")
    return parser


class Flaky:
    """500 until ``healthy_at``, then to a random share of deliveries."""

    def __init__(self, fail_for: float, share: float, seed: int) -> None:
        self.healthy_at = time.time() + fail_for
        self.share, self.random = share, random.Random(seed)

    def __call__(self, _id: str, _update: dict[str, object]) -> int:
        if time.time() < self.healthy_at or self.random.random() < self.share:
            return 500
        return 200


def counts(receiver: Receiver, published: dict[tuple[str, str], list[int]]) -> dict[str, int]:
    seen: dict[tuple[str, str], int] = {}
    backwards = 0
    for got in receiver.received:
        queue = (got.query, got.declaration_id)
        backwards += got.sequence < seen.get(queue, 0)
        seen[queue] = max(seen.get(queue, 0), got.sequence)
    delivered = {(r.query, r.webhook_id) for r in receiver.delivered()}
    missing = sum(
        (query, f"{declaration}:{s}") not in delivered
        for (query, declaration), sequences in published.items() for s in sequences
    )
    return {"never delivered": missing, "lower sequence after higher": backwards,
            "bad signatures": sum(not r.verified for r in receiver.received)}


async def status_updates(settings: Settings) -> list[dict[str, object]]:
    topic = Topology.from_settings(settings).name("declaration-status")
    return [orjson.loads(r.value) for r in await read_records(settings.bootstrap_servers, [topic])]


def expected_of(updates: list[dict[str, object]]) -> dict[tuple[str, str], list[int]]:
    """What each subscription (its query: the buyer) must receive, per declaration."""
    published: dict[tuple[str, str], list[int]] = {}
    for update in updates:
        buyer = update.get("buyer_id")
        if buyer in BUYERS:
            key = (f"buyer={buyer}", str(update["declaration_id"]))
            published.setdefault(key, []).append(int(update["sequence"]))  # type: ignore[call-overload]
    return published


def published_at(update: dict[str, object]) -> float:
    return datetime.fromisoformat(str(update["updated_at"]).replace("Z", "+00:00")).timestamp()


async def run(args: argparse.Namespace, base: Settings) -> None:
    flaky = Flaky(args.fail_for, args.fail_share, args.seed)
    receiver = Receiver([], flaky)
    url = await receiver.start()
    settings = base.model_copy(update={"webhook_http_loopback": True,
                                       "webhook_first_retry": args.first_retry})
    messages = generate(args.events, args.seed)
    kills = sorted(random.Random(args.seed).sample(range(len(messages)), args.kills))
    async with ReplayRun(settings) as replay:
        s = replay.settings
        for buyer in BUYERS:
            _, secret = await manage.add(s, buyer, f"{url}?buyer={buyer}")
            receiver.secrets.append(secret)
        own = s.model_copy(update={"notifier_id": f"{s.app_id}-notifier",
                                   "data_dir": s.data_dir / "notifier", "store": "rocksdb://"})
        notifier = WorkerProcess(own, s.data_dir / "notifier.log", command="notifier")
        notifier.start()
        started = time.monotonic()

        async def pace(n: int) -> None:
            if n in kills and notifier.process is not None:
                os.kill(notifier.process.pid, signal.SIGKILL)
                notifier.process.wait()
                print(f"notifier killed after {n} events", flush=True)
                notifier.start()
            ahead = n / args.rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)

        try:
            await replay.play(list(messages), pace)
            published = expected_of(await status_updates(s))
            deadline = time.monotonic() + args.wait
            while counts(receiver, published)["never delivered"] and time.monotonic() < deadline:
                notifier.check_alive()
                await asyncio.sleep(1.0)
            await explain_missing(s, receiver, published,
                                  f"{own.notifier_id}-webhook-queues-changelog")
        finally:
            notifier.stop()
            await delete_topics(own.model_copy(update={"app_id": own.notifier_id}))
            await receiver.stop()
    report(receiver, published, flaky.healthy_at)


async def explain_missing(settings: Settings, receiver: Receiver,
                          published: dict[tuple[str, str], list[int]], changelog: str) -> None:
    """For each update never delivered, its last attempt (from the attempts topic)."""
    delivered = {(r.query, r.webhook_id) for r in receiver.delivered()}
    missing = {f"{d}:{s}" for (q, d), seqs in published.items() for s in seqs
               if (q, f"{d}:{s}") not in delivered}
    if not missing:
        return
    topic = Topology.from_settings(settings).name("webhook-deliveries")
    last: dict[str, dict[str, object]] = {}
    for record in await read_records(settings.bootstrap_servers, [topic]):
        attempt = orjson.loads(record.value)
        if attempt["webhook_id"] in missing:
            last[attempt["webhook_id"]] = attempt
    queues: dict[str, object] = {}
    wanted = {w.split(":")[0] for w in missing}
    for record in await read_records(settings.bootstrap_servers, [changelog]):
        declaration = orjson.loads(record.key)
        if declaration in wanted:
            queues[declaration] = orjson.loads(record.value) if record.value else None
    for webhook_id in sorted(missing):
        seen = last.get(webhook_id)
        print(f"  not delivered {webhook_id}: " + (
            "no attempt made" if seen is None else
            f"last attempt {seen['outcome']} at {seen['at']}, next {seen['next_try_at']}"))
        stored = queues.get(webhook_id.split(":")[0])
        shown = {k: {**q, "pending": [p[0] for p in q["pending"]]}
                 for k, q in stored["queues"].items()} if isinstance(stored, dict) else stored
        print(f"    its queues as stored: {shown}")


def busiest(delivered: list[Received], window: float = 10.0) -> float:
    """Deliveries a second in the busiest ``window`` seconds."""
    times = sorted(r.at for r in delivered)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most / window


def report(receiver: Receiver, published: dict[tuple[str, str], list[int]],
           healthy_at: float) -> None:
    delivered = receiver.delivered()
    after = sorted(
        r.at - published_at(r.update) for r in {(r.query, r.webhook_id): r for r in
                                                reversed(delivered)}.values()
        if published_at(r.update) >= healthy_at
    )
    print(f"updates to deliver: {sum(map(len, published.values()))}; "
          f"requests: {len(receiver.received)}; delivered: {len(delivered)}")
    print(f"deliveries per second: {busiest(delivered):.1f} (the busiest 10 s: the backlog "
          "when the receiver heals)")
    if after:
        p50, p99 = after[len(after) // 2], after[min(len(after) - 1, int(len(after) * 0.99))]
        print(f"publication to first delivery, once healthy: p50 {p50 * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms ({len(after)} updates)")
    for name, value in counts(receiver, published).items():
        print(f"{name}: {value}")


def main() -> None:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from stream.broker import LocalBroker

    args = arguments().parse_args()
    base = Settings()
    status = LocalBroker(base.cache_dir, base.broker_port).start()
    base = base.model_copy(update={
        "broker": status.bootstrap, "commit_interval": 0.2,
        "webhook_key": base.webhook_key or SecretStr(Fernet.generate_key().decode()),
    })
    asyncio.run(run(args, base))


if __name__ == "__main__":
    main()
