"""Trying to break in to a live worker: Faust's own routes, unknown paths and methods,
odd query strings, forged and other buyers' tokens, other origins."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.read.web.guard import PROTECTED
from stream.tools.replay import ReplayRun
from tests.integration.conftest import BUYERS_SITE
from tests.integration.test_api import BUYER_1, BUYER_2, OPS

DECL = "310020260000000101"
SAMPLE = {"declaration_id": DECL, "buyer_id": "buyer-001", "firm_id": "91330206MA2A777777",
          "subscription_id": "sub_0123456789abcdef"}
# The subscription routes that take only POST (a GET of them answers 405, as any
# method a route does not take).
POST_ONLY = ("/rotate", "/pause", "/resume", "/replay")


def method_of(template: str) -> str:
    return "POST" if template.endswith(POST_ONLY) else "GET"


def call(port: int, path: str, token: str | None = None, method: str = "GET",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def is_json_error(answer: tuple[int, dict[str, str], bytes], status: int) -> bool:
    code, headers, body = answer
    document = json.loads(body)
    return code == status and headers["Content-Type"].startswith("application/json") and (
        document["status"] == status and isinstance(document["error"], str)
    )


async def test_faust_routes_and_unknown_paths_answer_a_json_404(
    served: tuple[int, ReplayRun],
) -> None:
    port, _ = served
    for path in (f"/table/declaration-state/{DECL}/", "/table/declaration-state/", "/router/",
                 "/", "/graph/", "/stats/", "/nothing/here", "/declarations"):
        assert is_json_error(call(port, path, OPS), 404), path
    for template in PROTECTED:
        path, method = template.format(**SAMPLE), method_of(template)
        assert is_json_error(call(port, path, method=method), 401), path
        forged = call(port, path, "forged-token-forged-token-forged", method=method)
        assert is_json_error(forged, 401), path
    assert is_json_error(call(port, "/kpis", OPS, method="POST"), 405)
    assert is_json_error(call(port, "/buyers/buyer-001/declarations?page=%C2%B2", OPS), 400)


async def test_cors_only_for_the_listed_origins(served: tuple[int, ReplayRun]) -> None:
    port, _ = served
    status, headers, _ = call(port, "/kpis", BUYER_1, headers={"Origin": BUYERS_SITE})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == BUYERS_SITE
    status, headers, _ = call(port, "/kpis", BUYER_1, headers={"Origin": "https://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    preflight = {"Origin": BUYERS_SITE, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    status, headers, _ = call(port, "/kpis", method="OPTIONS", headers=preflight)
    assert status == 204 and headers["Access-Control-Allow-Headers"] == \
        "Authorization, Content-Type"
    status, _, _ = call(port, "/kpis", method="OPTIONS",
                        headers={**preflight, "Origin": "https://evil.example"})
    assert status == 403


PATHS = st.sampled_from([*PROTECTED, "/health", "/ready", "/table/{table}/{key}/", "/{junk}",
                         "/declarations/{junk}", "/buyers/{junk}/declarations"])
TEXT = st.text(max_size=30)
TOKENS = st.sampled_from([OPS, BUYER_1, BUYER_2, None]) | st.text(min_size=1, max_size=60)


async def test_nothing_thrown_at_the_api_breaks_it_or_crosses_buyers(
    served: tuple[int, ReplayRun],
) -> None:
    port, _ = served

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(PATHS, st.fixed_dictionaries({}, optional={
        "declaration_id": st.sampled_from([DECL, "310020260000009001"]) | TEXT,
        "buyer_id": st.sampled_from(["buyer-001", "buyer-002"]) | TEXT,
        "firm_id": TEXT, "junk": TEXT, "table": TEXT, "key": TEXT, "subscription_id": TEXT,
    }), st.lists(st.tuples(TEXT, TEXT), max_size=4), TOKENS)
    def attempt(template: str, values: dict[str, str], query: list[tuple[str, str]],
                token: str | None) -> None:
        segments = {k: urllib.parse.quote(v, safe="") or "x" for k, v in values.items()}
        for name in ("declaration_id", "buyer_id", "firm_id", "junk", "table", "key",
                     "subscription_id"):
            segments.setdefault(name, "x")
        path = template.format(**segments)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        # What an HTTP header can carry: printable Latin-1, no line breaks.
        header = "".join(c for c in token or "" if c.isprintable() and ord(c) < 256).strip()
        status, headers, body = call(port, path, header or None, method=method_of(template))
        # 503 only where a subscription would change, on a worker without a webhook key
        # (schemathesis tries those on a worker with one: tests/integration/test_api_fuzz.py).
        unavailable = status == 503 and b"subscriptions are not enabled here" in body
        assert status < 500 or unavailable, (path, status, body[:200])
        if status >= 400 or path.split("?")[0] not in ("/board", "/metrics"):
            assert headers["Content-Type"].startswith("application/json"), (path, headers)
            document: Any = json.loads(body)
        if status == 200 and token in (BUYER_1, BUYER_2):
            own = "buyer-001" if token == BUYER_1 else "buyer-002"
            shown = [document] if "declaration_id" in document else document.get("items", [])
            assert all(d.get("buyer_id") == own for d in shown), (path, token)

    await asyncio.to_thread(attempt)
