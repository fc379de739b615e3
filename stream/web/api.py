"""The HTTP API the worker serves, for buyers, integrators and operators.

Every data endpoint needs a bearer token. A buyer token sees only its buyer's
declarations: another buyer's declaration answers 404, as if it did not exist. Errors
are JSON: ``{"error": "...", "status": N}``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from faust import web

from schemas.types import format_instant
from stream.core.eligibility import firm_eligibility_at
from stream.pipeline import Pipeline
from stream.web.auth import Principal, TokenStore

DECLARATION_ID = re.compile(r"^\d{18}$")
MAX_PAGE_SIZE = 500


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_response(view: web.View, exc: ApiError) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    response = view.json({"error": exc.message, "status": exc.status}, status=exc.status)
    if headers:
        response.headers.update(headers)
    return response


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


class Api:
    def __init__(self, pipeline: Pipeline, tokens: TokenStore) -> None:
        self.pipeline, self.tokens = pipeline, tokens
        self.book, self.feed = pipeline.book, pipeline.feed

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
        status = self.book.statuses.get(declaration_id)
        if status is None or not principal.may_see(status.get("buyer_id")):
            raise ApiError(404, f"no declaration {declaration_id}")
        return status

    def buyer_declarations(self, request: web.Request, buyer_id: str) -> dict[str, Any]:
        principal = self.principal(request)
        if not principal.may_see(buyer_id):
            raise ApiError(404, f"no buyer {buyer_id}")
        status = request.query.get("status")
        page = _int_param(request, "page", 1, 1, 1_000_000)
        size = _int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)
        found = self.book.declarations_of(buyer_id, status.upper() if status else None)
        items = found[(page - 1) * size: page * size]
        more = page * size < len(found)
        return {
            "buyer_id": buyer_id, "status": status, "page": page, "page_size": size,
            "total": len(found), "next_page": page + 1 if more else None, "items": items,
        }

    def firm_eligibility(self, request: web.Request, firm_id: str) -> dict[str, Any]:
        principal = self.principal(request)
        if principal.role != "ops":
            raise ApiError(403, "firm eligibility needs an ops token")
        history = self.book.firms.get(firm_id)
        if history is None:
            raise ApiError(404, f"no facts are known of firm {firm_id}")
        at = request.query.get("at")
        try:
            t = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.now(UTC)
        except ValueError as exc:
            raise ApiError(400, "at must be an RFC 3339 time with an offset") from exc
        if t.tzinfo is None:
            raise ApiError(400, "at must carry an offset (e.g. 2026-05-09T09:00:00+08:00)")
        e = firm_eligibility_at(firm_id, history, t.astimezone(UTC), self.pipeline.policy)
        return {
            "firm_id": firm_id, "as_of": format_instant(e.as_of), "channel": e.channel.value,
            "reasons": list(e.reasons), "enrolled": e.enrolled, "certificates": e.certificates,
            "returns_in_lookback": e.returns_in_lookback,
            "policy_version": self.pipeline.policy.version,
            "note": "the firm's own standing; a declaration's port and goods may add "
                    "PORT_OUT_OF_SCOPE or GOODS_OUT_OF_SCOPE",
        }

    def kpis(self, request: web.Request) -> dict[str, Any]:
        self.principal(request)
        ordered = sorted(self.book.kpis.values(), key=lambda k: (k["port"], k["channel"]))
        return {"kpis": ordered}

    def ready(self) -> bool:
        return self.feed.ready.is_set() and not self.pipeline.app.rebalancing


def register(pipeline: Pipeline, tokens: TokenStore) -> Api:
    api = Api(pipeline, tokens)
    app = pipeline.app

    def guarded(produce: Any) -> Any:
        async def view(self: web.View, request: web.Request, **params: str) -> web.Response:
            try:
                return self.json(produce(request, **params))
            except ApiError as exc:
                return error_response(self, exc)
        return view

    app.page("/declarations/{declaration_id}")(guarded(api.declaration))
    app.page("/buyers/{buyer_id}/declarations")(guarded(api.buyer_declarations))
    app.page("/firms/{firm_id}/eligibility")(guarded(api.firm_eligibility))
    app.page("/kpis")(guarded(api.kpis))

    @app.page("/health")
    async def health(self: web.View, request: web.Request) -> web.Response:
        return self.json({"status": "ok"})

    @app.page("/ready")
    async def ready(self: web.View, request: web.Request) -> web.Response:
        is_ready = api.ready()
        return self.json({"ready": is_ready}, status=200 if is_ready else 503)

    return api
