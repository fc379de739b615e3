"""The HTTP API the worker serves, for buyers, integrators and operators.

Every data endpoint needs a bearer token. A buyer token sees only its buyer's
declarations: another buyer's declaration answers 404, as if it did not exist. Errors
are JSON: ``{"error": "...", "status": N}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from schemas.types import Timestamp, format_instant
from stream.core.eligibility import firm_eligibility_at
from stream.core.policy import Policy
from stream.read.readstore import ReadStore
from stream.read.web.auth import Principal, TokenStore

DECLARATION_ID = re.compile(r"^\d{18}$")
MAX_PAGE_SIZE = 500


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def error_response(exc: ApiError) -> web.Response:
    response = json_response({"error": exc.message, "status": exc.status}, status=exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


INSTANT: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@dataclass
class Api:
    """The answers, from the read model; the same in a worker and in an API process."""

    read_model: ReadStore
    tokens: TokenStore
    policy: Policy
    ready: Callable[[], bool]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # when a forecast is made

    def principal(self, request: web.Request) -> Principal:
        tokens = self.tokens.current()
        if not tokens.principals:
            raise ApiError(401, "no API tokens are configured (CUSTOMS_STREAM_TOKENS_FILE)")
        principal = tokens.authenticate(request.headers.get("Authorization"))
        if principal is None:
            raise ApiError(401, "a valid bearer token is required")
        return principal

    def declaration(self, request: web.Request, declaration_id: str) -> dict[str, Any]:
        principal = self.principal(request)
        if not DECLARATION_ID.match(declaration_id):
            raise ApiError(400, "a declaration id is 18 digits")
        status = self.read_model.status(declaration_id)
        if status is None or not principal.may_see(status.get("buyer_id")):
            raise ApiError(404, f"no declaration {declaration_id}")
        return self.with_forecast(status, self.clock())

    def with_forecast(self, update: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The update as published, and its expected release made at ``now`` (computed
        when asked: it moves as time passes, so it is never part of the update)."""
        return {**update, **self.read_model.forecasts.expected_release(update, now)}

    def buyer_declarations(self, request: web.Request, buyer_id: str) -> dict[str, Any]:
        principal = self.principal(request)
        if not principal.may_see(buyer_id):
            raise ApiError(404, f"no buyer {buyer_id}")
        status = request.query.get("status")
        page = _int_param(request, "page", 1, 1, 1_000_000)
        size = _int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)
        total, items = self.read_model.declarations_of(
            buyer_id, status.upper() if status else None, (page - 1) * size, size)
        more = page * size < total
        now = self.clock()  # one moment for the whole page
        items = [self.with_forecast(item, now) for item in items]
        return {
            "buyer_id": buyer_id, "status": status, "page": page, "page_size": size,
            "total": total, "next_page": page + 1 if more else None, "items": items,
        }

    def firm_eligibility(self, request: web.Request, firm_id: str) -> dict[str, Any]:
        principal = self.principal(request)
        if principal.role != "ops":
            raise ApiError(403, "firm eligibility needs an ops token")
        history = self.read_model.firm(firm_id)
        if history is None:
            raise ApiError(404, f"no facts are known of firm {firm_id}")
        at = request.query.get("at")
        try:  # read as an event's time is: RFC 3339, an offset, years 1900 to 8999
            t = INSTANT.validate_python(at) if at else datetime.now(UTC)
        except ValidationError as exc:
            raise ApiError(400, "at must be an RFC 3339 time with an offset (e.g. "
                           "2026-05-09T09:00:00+08:00), from 1900 to 8999") from exc
        e = firm_eligibility_at(firm_id, history, t, self.policy)
        return {
            "firm_id": firm_id, "as_of": format_instant(e.as_of), "channel": e.channel.value,
            "reasons": list(e.reasons), "enrolled": e.enrolled, "certificates": e.certificates,
            "returns_in_lookback": e.returns_in_lookback,
            "policy_version": self.policy.version,
            "note": "the firm's own standing; a declaration's port and goods may add "
                    "PORT_OUT_OF_SCOPE or GOODS_OUT_OF_SCOPE",
        }

    def kpis(self, request: web.Request) -> dict[str, Any]:
        self.principal(request)
        ordered = sorted(self.read_model.kpis.values(), key=lambda k: (k["port"], k["channel"]))
        return {"kpis": ordered}



def guarded(produce: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """A handler answering ``produce``'s JSON, or its ApiError as a JSON error."""
    async def handler(request: web.Request) -> web.Response:
        try:
            return json_response(produce(request, **request.match_info))
        except ApiError as exc:
            return error_response(exc)
    return handler


def add_routes(router: web.UrlDispatcher, api: Api) -> None:
    router.add_get("/declarations/{declaration_id}", guarded(api.declaration))
    router.add_get("/buyers/{buyer_id}/declarations", guarded(api.buyer_declarations))
    router.add_get("/firms/{firm_id}/eligibility", guarded(api.firm_eligibility))
    router.add_get("/kpis", guarded(api.kpis))

    async def health(request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def ready(request: web.Request) -> web.Response:
        is_ready = api.ready()
        return json_response({"ready": is_ready}, status=200 if is_ready else 503)

    router.add_get("/health", health)
    router.add_get("/ready", ready)
