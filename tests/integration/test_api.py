"""The worker's HTTP API and /metrics, on a real worker after a real replay."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from stream.tools.replay import ReplayRun
from stream.tools.scenario import Message, read_scenario
from tests.builders import filed, lifecycle

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
OPS, BUYER_1, BUYER_2 = "ops-token-0123456789", "buyer-1-token-0123456789", "buyer-2-token-012345"
def write_tokens(path: Path) -> None:
    """The tokens file the API tests serve with (hashes of the tokens above)."""
    from tests.web.test_auth import hashed_file

    hashed_file(path, **{OPS: ("ops", None), BUYER_1: ("buyer", "buyer-001"),
                         BUYER_2: ("buyer", "buyer-002")})


# Declarations of a second buyer, beside scenario 01's and 06's (all of buyer-001), from
# scenario 01's qualified firm: a green filing, and one released 4 hours after filing.
OTHER_BUYER: dict[str, dict[str, Any]] = {
    "310020260000009001": {"status": "ACCEPTED", "channel": "GREEN", "clearance_hours": None},
    "310020260000009002": {"status": "RELEASED", "channel": "GREEN", "clearance_hours": 4.0},
    # Left on its scheduled day: a departure on schedule, for the punctuality figures.
    "310020260000009003": {"status": "DEPARTED", "channel": "GREEN", "clearance_hours": 4.0},
}


def other_buyers_steps() -> list[Message]:
    steps = []
    for declaration_id, expected in OTHER_BUYER.items():
        key = declaration_id.encode()
        filing = filed(declaration_id=declaration_id, buyer_id="buyer-002",
                       scheduled_departure="2026-05-10T09:00:00+08:00")
        steps.append(Message("declarations", key, json.dumps(filing).encode()))
        later = {"RELEASED": [("releases", "GoodsReleased", "2026-05-09T13:00:00+08:00")],
                 "DEPARTED": [("releases", "GoodsReleased", "2026-05-09T13:00:00+08:00"),
                              ("releases", "GoodsDeparted", "2026-05-10T08:00:00+08:00")]}
        for topic, kind, at in later.get(expected["status"], []):
            event = lifecycle(kind, at, declaration_id)
            steps.append(Message(topic, key, json.dumps(event).encode()))
    return steps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_broker_port() -> int:
    """A free port for a local broker whose controller port, one above it, is free too
    (a broker whose controller port another process holds exits at once)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports")


def get(port: int, path: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    text = body.decode()
    return status, json.loads(text) if text.startswith(("{", "[")) else text


async def test_access_rules_and_endpoints(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    assert get(port, "/health") == (200, {"status": "ok"})
    assert get(port, "/ready")[0] == 200

    status, body = get(port, "/declarations/310020260000000101")
    assert status == 401 and "bearer token" in body["error"]
    assert get(port, "/declarations/310020260000000101", "wrong-token-0123456789")[0] == 401

    status, body = get(port, "/declarations/310020260000000101", OPS)
    assert status == 200 and body["status"] == "RELEASED" and body["buyer_id"] == "buyer-001"
    assert body["codes"] == {"wco": "08", "uk_cds": "RELEASED", "eu_aes": "RELEASED_FOR_EXPORT",
                             "dcsa": "CUSR"}  # the update as published
    assert get(port, "/declarations/310020260000000101", BUYER_1)[1]["channel"] == "GREEN"
    status, body = get(port, "/declarations/310020260000000101", BUYER_2)
    assert status == 404 and body == {"error": "no declaration 310020260000000101", "status": 404}
    assert get(port, "/declarations/31002026", OPS)[0] == 400

    status, page = get(port, "/buyers/buyer-001/declarations?page_size=5", BUYER_1)
    assert status == 200 and page["total"] == 13 and len(page["items"]) == 5
    assert page["next_page"] == 2
    ids = [d["declaration_id"] for d in page["items"]]
    assert ids == sorted(ids)
    status, last = get(port, "/buyers/buyer-001/declarations?page_size=5&page=3", BUYER_1)
    assert last["next_page"] is None and len(last["items"]) == 3
    status, departed = get(port, "/buyers/buyer-001/declarations?status=departed", OPS)
    assert status == 200 and [d["declaration_id"] for d in departed["items"]] == [
        "310020260000000601"
    ]
    status, accepted = get(port, "/buyers/buyer-002/declarations?status=ACCEPTED", BUYER_2)
    assert status == 200 and [d["declaration_id"] for d in accepted["items"]] == [
        "310020260000009001"
    ]
    status, theirs = get(port, "/buyers/buyer-002/declarations", BUYER_2)
    assert status == 200 and theirs["total"] == len(OTHER_BUYER)
    assert {d["declaration_id"]: d["status"] for d in theirs["items"]} == {
        i: e["status"] for i, e in OTHER_BUYER.items()
    }
    status, mine = get(port, "/buyers/buyer-001/declarations?page_size=100", BUYER_1)
    assert status == 200 and not {d["declaration_id"] for d in mine["items"]} & set(OTHER_BUYER)
    assert get(port, "/buyers/buyer-001/declarations", BUYER_2)[0] == 404
    assert get(port, "/declarations/310020260000009001", BUYER_1)[0] == 404
    assert get(port, "/declarations/310020260000009001", BUYER_2)[0] == 200
    assert get(port, "/buyers/buyer-001/declarations?page=0", OPS)[0] == 400

    status, firm = get(port, "/firms/91330206MA2A777777/eligibility?at=2026-05-09T09:00:00%2B08:00",
                       OPS)
    assert status == 200 and firm["channel"] == "GREEN" and firm["reasons"] == []
    _, revoked = get(port, "/firms/91330206MA2F777777/eligibility?at=2026-06-01T00:00:00Z", OPS)
    assert revoked["reasons"] == ["ISO9001_MISSING"]
    assert get(port, "/firms/91330206MA2A777777/eligibility", BUYER_1)[0] == 403
    assert get(port, "/firms/91330206MA2Z999999/eligibility", OPS)[0] == 404
    assert get(port, "/firms/91330206MA2A777777/eligibility?at=yesterday", OPS)[0] == 400
    for out_of_range in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00%2B14:00",
                         "2026-05-09T09:00:00"):  # past datetime's range; no offset
        answer = get(port, f"/firms/91330206MA2A777777/eligibility?at={out_of_range}", OPS)
        assert answer[0] == 400, out_of_range

    status, kpis = get(port, "/kpis", BUYER_1)
    assert status == 200 and {(k["port"], k["channel"]) for k in kpis["kpis"]} == {
        ("CNNGB", "GREEN"), ("CNNGB", "STANDARD"),
    }


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# Counted by hand from scenarios 01 and 06 and other_buyers_steps(): 70 messages, 62 of
# them valid events by topic, 9 dead letters of which one (an event-id conflict) is a
# valid event too; 16 filings and amendments, each decided once.
EVENTS_IN = {"firms": 27, "declarations": 17, "releases": 18}
DECISIONS, DEAD_LETTERS, CONFLICTS = 16, 9, 1


def played_messages() -> list[Message]:
    played = [s for name in ("01-green-channel", "06-bad-input")
              for s in read_scenario(SCENARIOS / name / "events.jsonl")]
    return [s for s in [*played, *other_buyers_steps()] if isinstance(s, Message)]


def expected_statuses() -> list[dict[str, Any]]:
    return [
        s for name in ("01-green-channel", "06-bad-input")
        for s in json.loads((SCENARIOS / name / "expected.json").read_text())["statuses"]
    ] + list(OTHER_BUYER.values())


async def test_metrics_moved_by_the_right_amounts(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    assert len(played_messages()) == sum(EVENTS_IN.values()) + DEAD_LETTERS - CONFLICTS
    statuses = expected_statuses()
    status, text = get(port, "/metrics")
    assert status == 200
    assert metric(text, "customs_dead_letters_total") == DEAD_LETTERS
    assert metric(text, "customs_dead_letters_total", code="INVALID_JSON") == 2
    assert metric(text, "customs_dead_letters_total", code="KEY_MISMATCH") == 1
    assert metric(text, "customs_duplicates_total") == 1
    for topic, count in EVENTS_IN.items():
        # Every message that decoded is counted once, where it was processed (a conflict
        # decodes too, then is dead-lettered).
        assert metric(text, "customs_events_in_total", topic=topic) == count, topic
    assert metric(text, "customs_release_decisions_total") == DECISIONS
    green = sum(1 for s in statuses if s["channel"] == "GREEN" and s["clearance_hours"])
    assert metric(text, "customs_clearance_hours_count", port="CNNGB", channel="GREEN") == green
    open_now = sum(1 for s in statuses if s["status"] not in ("DEPARTED", "RETURNED", "WITHDRAWN"))
    assert metric(text, "customs_open_declarations") == open_now
    departed = sum(1 for s in statuses if s["status"] == "DEPARTED")
    assert metric(text, "customs_status_transitions_total", to_status="DEPARTED") == departed
    assert metric(text, "customs_event_time_lag_seconds_count") > 0
    assert "faust_" in text  # Faust's own sensors on the same endpoint
    assert "declaration_id=" not in text and "buyer-001" not in text  # bounded labels only


def conforms(path: str, status: int, body: Any) -> None:
    """The answer is one the OpenAPI document gives for that path and status."""
    import re

    from jsonschema import Draft202012Validator

    from schemas.openapi import openapi

    document = openapi()
    matching = [t for t in document["paths"]
                if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path.split("?")[0])]
    assert len(matching) == 1, path
    responses = document["paths"][matching[0]]["get"]["responses"]
    assert str(status) in responses, (path, status)
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": document["components"]}).validate(body)


async def test_every_answer_is_one_the_openapi_document_gives(
    served: tuple[int, ReplayRun],
) -> None:
    port, _ = served
    asked = [
        ("/declarations/310020260000000101", OPS), ("/declarations/310020260000000101", None),
        ("/declarations/310020260000000101", BUYER_2), ("/declarations/31002026", OPS),
        ("/buyers/buyer-001/declarations?page_size=5", BUYER_1),
        ("/buyers/buyer-001/declarations?page=0", OPS),
        ("/buyers/buyer-001/declarations", BUYER_2),
        ("/firms/91330206MA2A777777/eligibility?at=2026-05-09T09:00:00%2B08:00", OPS),
        ("/firms/91330206MA2A777777/eligibility", BUYER_1),
        ("/firms/91330206MA2Z999999/eligibility", OPS),
        ("/firms/91330206MA2A777777/eligibility?at=yesterday", OPS),
        ("/kpis", BUYER_1), ("/board/data", OPS), ("/board/data", BUYER_1),
        ("/health", None), ("/ready", None),
    ]
    statuses = set()
    for path, token in asked:
        status, body = get(port, path, token)
        conforms(path, status, body)
        statuses.add(status)
    assert statuses == {200, 400, 401, 403, 404}
