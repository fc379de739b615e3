"""Realistic port traffic, deterministic for a seed: firms and their certificates, then
declarations across Ningbo, Dalian, Shanghai, Tianjin and inland rail-sea stations, with
document problems and amendments, inspections by appointment, releases, departures,
returns and a little bad input. Events come out in event-time order, on a simulated
clock that runs as fast as the publishing rate makes it."""

from __future__ import annotations

import heapq
import json
import math
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import FirmEvent, Line, ReturnDeclared, parse_event
from schemas.outputs import Channel
from stream.core.eligibility import FirmHistory, eligibility_at
from stream.core.policy import Policy, load_policy
from stream.settings import DEFAULT_POLICY
from stream.tools.scenario import Message

DISTRICTS = {"CNNGB": "3100", "CNDLC": "0900", "CNSHA": "2200", "CNTSN": "0200"}
AREAS = {
    "CNNGB": ["BEILUN", "BEILUN", "BEILUN", "MEISHAN"], "CNDLC": ["DAYAOWAN"],
    "CNSHA": ["YANGSHAN"], "CNTSN": ["NANJIANG"],
}
INLAND_STATIONS = ["YIWU", "JINHUA", "SHAOXING", "XIANGTAN", "XIAN"]
# (category, HS code, share, e-commerce?)
GOODS = [
    ("bearing", "8482100000", 22, False), ("sprocket", "8483900000", 10, False),
    ("casting", "7325990000", 8, False), ("forging", "7326190000", 8, False),
    ("lithium_battery", "8507600000", 6, False), ("aquatic", "0303890000", 8, False),
    ("toy", "9503000000", 14, True), ("phone_case", "3926909090", 12, True),
    ("pet_supply", "4201000000", 12, True),
]
BUYERS = [f"buyer-{n:03d}" for n in range(1, 13)]
# The published figures the traffic is calibrated to (each checked by a test):
NINGBO_GREEN_DAYS, NINGBO_STANDARD_DAYS = 2.1, 5.8  # mean days, filing to release
DALIAN_WITHIN_24H = 0.982  # share of Dalian declarations cleared within 24 hours
# Filing to release is the sum of a few steps (documents, risk check, release), each
# taking an exponential time: an Erlang distribution. Unlike one exponential, it has a
# memory: a declaration that has waited long is nearer its release (as real clearance).
CLEARANCE_STEPS = 3


def _erlang_within(hours: float, scale: float, steps: int = CLEARANCE_STEPS) -> float:
    """P(an Erlang time of ``steps`` steps of mean ``scale`` hours <= ``hours``)."""
    x = hours / scale
    return 1 - math.exp(-x) * sum(x**i / math.factorial(i) for i in range(steps))


def _dalian_step_hours() -> float:
    """The mean step that clears DALIAN_WITHIN_24H of declarations within 24 hours."""
    low, high = 0.01, 24.0
    for _ in range(60):  # bisection: the share within 24 h falls as the step grows
        middle = (low + high) / 2
        low, high = (middle, high) if _erlang_within(24, middle) > DALIAN_WITHIN_24H else (
            low, middle)
    return low


DALIAN_STEP_HOURS = _dalian_step_hours()
ON_SCHEDULE = 0.96  # departures within the grace of their schedule (e-Port Link: over 95%)


def _iso(t: datetime) -> str:
    """Whole seconds, as ERP systems send them."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Firm:
    firm_id: str
    enrolled: bool
    certified: bool
    goods: list[tuple[str, str, int, bool]]  # what it exports: a trade, not everything


@dataclass(order=True)
class _Due:
    at: datetime
    seq: int
    message: Message = field(compare=False)


class Traffic:
    """An endless, seeded stream of messages in publish order."""

    def __init__(self, seed: int, start: datetime, firms: int = 40,
                 declarations_per_hour: float = 6.0, bad_share: float = 0.01,
                 policy: Policy | None = None) -> None:
        self.rng = random.Random(seed)
        self.policy = policy or load_policy(DEFAULT_POLICY)
        self.histories: dict[str, FirmHistory] = {}  # the facts of each firm, as sent
        self.start, self.clock = start, start
        self.per_hour, self.bad_share = declarations_per_hour, bad_share
        self._queue: list[_Due] = []
        self._seq = 0
        self._ids = 0
        self.firms = [self._firm(n) for n in range(firms)]
        self._next_declaration = start

    # -- ids and envelopes -------------------------------------------------------------

    def _event(self, event_type: str, at: datetime, **payload: Any) -> dict[str, Any]:
        self._ids += 1
        return {"event_id": f"sim-{self._ids:08d}", "event_type": event_type,
                "occurred_at": _iso(at), "source": payload.pop("source", "erp:sim"),
                "schema_version": 1, **payload}

    def _at(self, at: datetime, topic: str, key: str | None, document: dict[str, Any]) -> None:
        self._seq += 1
        if topic in ("firms", "returns"):  # a fact the firm's later declarations depend on
            fact = parse_event(document)
            if isinstance(fact, FirmEvent | ReturnDeclared):
                self.histories.setdefault(fact.firm_id, FirmHistory()).add(fact)
        message = Message(topic, key.encode() if key else None, json.dumps(document).encode())
        heapq.heappush(self._queue, _Due(at, self._seq, message))

    def _firm(self, n: int) -> Firm:
        rng = self.rng
        suffix = "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
        # Half make mechanical parts (the green channel's goods), half sell other goods.
        goods = GOODS[:4] if rng.random() < 0.5 else GOODS[4:]
        firm = Firm(f"91330206MA{suffix}", rng.random() < 0.65, rng.random() < 0.8, goods)
        at = self.start - timedelta(days=30)
        if firm.enrolled:
            self._at(at, "firms", firm.firm_id, self._event(
                "FirmEnrolled", at, firm_id=firm.firm_id,
                program="GREEN_CHANNEL_MECH_PARTS", source="customs:3100"))
        for standard in ("ISO9001", "ISO14001"):
            if not firm.certified and standard == "ISO14001":
                continue
            # A few certificates run out during the simulation, a few are revoked.
            until = at + timedelta(days=rng.choice([900, 900, 900, 45]))
            cert_id = f"{standard}-{suffix[:4]}"
            self._at(at, "firms", firm.firm_id, self._event(
                "CertificateIssued", at, firm_id=firm.firm_id, certificate_id=cert_id,
                standard=standard, valid_from=_iso(at - timedelta(days=200)),
                valid_until=_iso(until), source="cert:cnca"))
            if rng.random() < 0.05:
                when = self.start + timedelta(days=rng.uniform(5, 40))
                self._at(when, "firms", firm.firm_id, self._event(
                    "CertificateRevoked", when, firm_id=firm.firm_id,
                    certificate_id=cert_id, source="cert:cnca"))
        return firm

    # -- one declaration's life ---------------------------------------------------------

    def _declaration(self, at: datetime) -> None:
        rng = self.rng
        firm = rng.choice(self.firms)
        port = rng.choices(list(DISTRICTS), weights=[55, 15, 15, 15])[0]
        area = rng.choice(AREAS[port])
        category, hs, _, ecommerce = rng.choices(firm.goods, weights=[g[2] for g in firm.goods])[0]
        district = DISTRICTS[port]
        declaration_id = f"{district}{at.year}{rng.randrange(10**10):010d}"
        line = {"line_no": 1, "hs_code": hs, "product_category": category,
                "description": category.replace("_", " "),
                "quantity": rng.randint(10, 5000), "unit": "PCS",
                "value_usd": round(rng.uniform(500, 90000), 2), "origin_country": "CN",
                "packaging_code": "CT"}
        documents = [{"doc_type": "COMMERCIAL_INVOICE", "number": f"INV-{declaration_id[-6:]}"}]
        if category == "lithium_battery":
            line["un_number"] = rng.choice(["UN3480", "UN3481"])
            documents.append({"doc_type": "DG_PACKAGING_CERT", "number": "DG-1"})
        if category == "aquatic":
            documents += [{"doc_type": "HEALTH_CERT", "number": "HC-1"},
                          {"doc_type": "CERT_OF_ORIGIN", "number": "CO-1", "country": "CN"}]
        flawed = dict(line)
        problem = rng.random() < 0.12
        if problem:  # a classification slip or a missing packaging code, fixed later
            if rng.random() < 0.5:
                flawed["hs_code"] = "7318150000"
            else:
                del flawed["packaging_code"]
        rail = port == "CNNGB" and rng.random() < 0.15
        amended = at + timedelta(hours=rng.uniform(2, 20)) if problem else None
        # The channel the pipeline will take: the contract's own rules, as of the content
        # in force, on the facts the firm has by then.
        as_of = amended or at
        green = eligibility_at(
            firm.firm_id, self.histories.get(firm.firm_id), as_of, port, area,
            [Line.model_validate(line)], self.policy,
        ).channel is Channel.GREEN
        inspected = category == "lithium_battery" or rng.random() < (0.02 if green else 0.1)
        passed = self._inspection(declaration_id, as_of, category, port) if inspected else as_of
        release = None if passed is None else max(
            passed + timedelta(minutes=30), at + self._clearance(port, green))
        departure = None if release is None else release + timedelta(hours=rng.uniform(4, 48))
        filing = self._event(
            "DeclarationFiled", at, declaration_id=declaration_id, firm_id=firm.firm_id,
            buyer_id=rng.choice(BUYERS), buyer_reference=f"PO-{rng.randrange(10**6):06d}",
            port=port, port_area=area, customs_district=district,
            transport_mode="RAIL_SEA" if rail else rng.choice(["SEA", "SEA", "AIR"]),
            scheduled_departure=_iso(self._schedule(at, departure)), lines=[flawed],
            documents=documents,
        )
        if rail:
            filing["inland_station"] = rng.choice(INLAND_STATIONS)
        self._at(at, "declarations", declaration_id, filing)
        if amended is not None:
            self._at(amended, "declarations", declaration_id, self._event(
                "DeclarationAmended", amended, declaration_id=declaration_id, lines=[line],
                documents=documents))
        if release is None or departure is None:
            return  # failed its inspection: the goods are not released
        self._at(release, "releases", declaration_id, self._event(
            "GoodsReleased", release, declaration_id=declaration_id, source=f"customs:{district}",
            release_type="AFTER_INSPECTION" if inspected else
            ("GREEN_CHANNEL" if green else "NORMAL")))
        if category == "lithium_battery" and rng.random() < 0.5:
            entered = release - timedelta(hours=2)
            self._at(entered, "releases", declaration_id, self._event(
                "BondedZoneEntered", entered, declaration_id=declaration_id,
                zone="Ordos Comprehensive Bonded Zone"))
        self._at(departure, "releases", declaration_id, self._event(
            "GoodsDeparted", departure, declaration_id=declaration_id,
            vessel=rng.choice(["COSCO SHIPPING ARIES", "MSC GULSUN", "EVER ACE"])))
        if ecommerce and rng.random() < 0.08:
            returned = departure + timedelta(days=rng.uniform(5, 20))
            other = rng.choice(["5300", "4200", "1500", district])  # 1500 is not authorised
            self._at(returned, "returns", declaration_id, self._event(
                "ReturnDeclared", returned, return_id=f"RET-{declaration_id[-8:]}",
                original_declaration_id=declaration_id, firm_id=firm.firm_id,
                original_district=district, return_district=other, reason="7-day return",
                channel="ECOMMERCE_RETAIL"))

    def _clearance(self, port: str, green: bool) -> timedelta:
        """Filing to release, before any inspection: Dalian's in hours (nearly all
        within a day), elsewhere Ningbo's green and standard figures, in days."""
        if port == "CNDLC":
            return timedelta(hours=self.rng.gammavariate(CLEARANCE_STEPS, DALIAN_STEP_HOURS))
        mean = NINGBO_GREEN_DAYS if green else NINGBO_STANDARD_DAYS
        return timedelta(days=self.rng.gammavariate(CLEARANCE_STEPS, mean / CLEARANCE_STEPS))

    def _schedule(self, at: datetime, departure: datetime | None) -> datetime:
        """The departure the ERP planned: met (within the grace) by ON_SCHEDULE of them."""
        rng = self.rng
        if departure is None:
            return at + timedelta(days=rng.uniform(3, 9))
        if rng.random() < ON_SCHEDULE:
            planned = departure + timedelta(hours=rng.uniform(-10, 30))
        else:
            planned = departure - timedelta(hours=rng.uniform(14, 72))
        return max(planned, at + timedelta(hours=1))

    def _inspection(
        self, declaration_id: str, t: datetime, category: str, port: str
    ) -> datetime | None:
        rng = self.rng
        inspection_id = f"I-{declaration_id[-6:]}"
        reason = "DANGEROUS_GOODS" if category == "lithium_battery" else "RANDOM"
        t += timedelta(hours=rng.uniform(1, 4))
        self._at(t, "inspections", declaration_id, self._event(
            "InspectionOrdered", t, declaration_id=declaration_id,
            inspection_id=inspection_id, reason=reason))
        # Dangerous goods and random checks by appointment: the same day at Dalian.
        wait = (2, 6) if port == "CNDLC" else (12, 48)
        appointment = t + timedelta(hours=rng.uniform(*wait))
        t += timedelta(hours=1)
        self._at(t, "inspections", declaration_id, self._event(
            "InspectionScheduled", t, declaration_id=declaration_id,
            inspection_id=inspection_id, appointment_at=_iso(appointment),
            location="inspection yard 3"))
        done = appointment + timedelta(hours=rng.uniform(1, 2 if port == "CNDLC" else 6))
        failed = rng.random() < 0.05
        self._at(done, "inspections", declaration_id, self._event(
            "InspectionCompleted", done, declaration_id=declaration_id,
            inspection_id=inspection_id, result="FAILED" if failed else "PASSED"))
        return None if failed else done

    # -- noise ---------------------------------------------------------------------------

    def _noise(self, message: Message) -> Message:
        """Now and then a message goes wrong on its way: truncated, repeated, misrouted."""
        roll = self.rng.random()
        if roll < self.bad_share / 2:
            return Message(message.topic, message.key, message.value[: len(message.value) // 2])
        if roll < self.bad_share:
            wrong = "releases" if message.topic != "releases" else "inspections"
            return Message(wrong, None, message.value)
        return message

    def __iter__(self) -> Iterator[Message]:
        while True:
            while not self._queue or self._next_declaration <= self._queue[0].at:
                self._declaration(self._next_declaration)
                gap = self.rng.expovariate(self.per_hour)
                self._next_declaration += timedelta(hours=gap)
            due = heapq.heappop(self._queue)
            self.clock = due.at
            message = self._noise(due.message) if due.message.topic != "firms" else due.message
            yield message
            if self.rng.random() < 0.02:  # an ERP that sends twice
                yield message
