"""Schemathesis against a live worker, with a buyer's token: requests made from the
OpenAPI document (valid ones and not), and every answer must be one the document gives,
never a 5xx, and never another buyer's data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from schemas.openapi import openapi
from stream.settings import Settings
from stream.tools.replay import ReplayRun, delete_topics
from stream.tools.scenario import read_scenario
from tests.conftest import CACHE
from tests.integration.test_api import (
    BUYER_1,
    OTHER_BUYER,
    SCENARIOS,
    free_port,
    get,
    other_buyers_steps,
    write_tokens,
)

BUYER = "buyer-001"
THEIRS = sorted(OTHER_BUYER)
KNOWN_IDS: st.SearchStrategy[dict[str, str]] = st.one_of(st.just({}), st.fixed_dictionaries({
    "buyer_id": st.sampled_from([BUYER, "buyer-002"]),
    "declaration_id": st.sampled_from(["310020260000000101", *THEIRS]),
}))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def live_worker(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A worker serving HTTP after scenario 01 and other buyers' declarations, for the
    whole module (its port)."""
    tokens = tmp_path_factory.mktemp("fuzz") / "tokens.toml"
    write_tokens(tokens)
    port = free_port()
    base = Settings(broker=kafka, cache_dir=CACHE, commit_interval=0.2, partitions=4,
                    webhook_key=SecretStr(Fernet.generate_key().decode()))

    async def start() -> ReplayRun:
        run = ReplayRun(base, web_enabled=True, web_port=port, tokens_file=tokens)
        await run.__aenter__()
        steps = read_scenario(SCENARIOS / "01-green-channel" / "events.jsonl")
        await run.play([*steps, *other_buyers_steps()])
        await run.producer.stop()
        return run

    run = asyncio.run(start())
    try:
        for _ in range(300):
            if get(port, "/ready")[0] == 200:
                break
            asyncio.run(asyncio.sleep(0.2))
        yield port
    finally:
        run.stop_workers()
        asyncio.run(delete_topics(run.settings))


@pytest.fixture(scope="module")
def document(live_worker: int) -> Any:
    loaded = schemathesis.openapi.from_dict(openapi())
    loaded.config.update(base_url=f"http://127.0.0.1:{live_worker}")
    return loaded


def buyers_in(value: Any) -> set[str]:
    """Every buyer id anywhere in an answer."""
    if isinstance(value, dict):
        found = {value["buyer_id"]} if isinstance(value.get("buyer_id"), str) else set()
        return found.union(*(buyers_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(buyers_in(v) for v in value))
    return set()


def test_every_answer_conforms_and_shows_only_the_buyers_own(document: Any) -> None:
    # Each operation in turn, with Hypothesis drawing its requests (schemathesis's lazy
    # pytest fixture does not run under pytest 9.2).
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy(), known=KNOWN_IDS)
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def answers_as_documented(case: Any, known: dict[str, str]) -> None:
            # Half the time, ids that exist (the buyer's, another buyer's): a random
            # id finds nothing to leak.
            for name, value in known.items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value
            response = case.call(headers={"Authorization": f"Bearer {BUYER_1}"})
            case.validate_response(response, checks=CHECKS)
            if response.headers.get("content-type", [""])[0].startswith("application/json"):
                assert buyers_in(json.loads(response.content)) <= {BUYER}

        answers_as_documented()


def test_the_fuzzed_worker_holds_other_buyers(live_worker: int, tmp_path: Path) -> None:
    """The test above can fail: other buyers' declarations are there to be leaked."""
    from tests.integration.test_api import OPS

    status, body = get(live_worker, "/buyers/buyer-002/declarations", OPS)
    assert status == 200 and body["total"] > 0
