from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import islice

from stream.ingest import Decoded, decode
from stream.scenario import Message
from stream.simulate import Traffic

START = datetime(2026, 5, 1, tzinfo=UTC)


def take(seed: int, n: int = 4000) -> list[Message]:
    return list(islice(Traffic(seed, START), n))


def test_the_same_seed_gives_the_same_traffic() -> None:
    assert take(7, 500) == take(7, 500)
    assert take(7, 500) != take(8, 500)


def test_traffic_is_realistic_and_mostly_valid() -> None:
    messages = take(11)
    kinds: Counter[str] = Counter()
    ports: Counter[str] = Counter()
    bad = 0
    for message in messages:
        result = decode(message.topic, message.key, message.value)
        if not isinstance(result, Decoded):
            bad += 1
            continue
        kinds[type(result.event).__name__] += 1
        ports[getattr(result.event, "port", "")] += 1
    assert 0 < bad < 0.03 * len(messages)  # a little bad input
    for kind in ("FirmEnrolled", "CertificateIssued", "DeclarationFiled", "DeclarationAmended",
                 "InspectionOrdered", "InspectionScheduled", "InspectionCompleted",
                 "GoodsReleased", "GoodsDeparted", "BondedZoneEntered"):
        assert kinds[kind] > 0, kind
    assert {"CNNGB", "CNDLC", "CNSHA", "CNTSN"} <= set(ports)


def test_returns_come_at_authorised_and_unauthorised_districts() -> None:
    districts: Counter[str] = Counter()
    for message in take(3, 40000):
        if message.topic == "returns":
            result = decode("returns", message.key, message.value)
            if isinstance(result, Decoded):
                districts[result.event.return_district] += 1  # type: ignore[attr-defined]
    assert districts["1500"] > 0 and districts["5300"] > 0
