"""The HTTP API as an OpenAPI 3.1 document, generated with the topics' schemas
(``python -m schemas.export`` writes ``schemas/openapi.json``). The answers' bodies are
the published records' own JSON Schemas (a declaration is its latest StatusUpdate as
published); a test checks the paths against the routes a worker registers."""

from __future__ import annotations

from typing import Any

from schemas.openapi_parts import (
    BEARER,
    UNAUTHORISED,
    _error,
    _get,
    _json,
    _model,
    _path_parameter,
    _query,
    _ref,
)
from schemas.openapi_webhooks import subscription_paths, subscription_schemas
from schemas.outputs import ExpectedRelease, KpiSnapshot, Status, StatusUpdate


def _components() -> dict[str, Any]:
    status, status_defs = _model(StatusUpdate)
    kpi, kpi_defs = _model(KpiSnapshot)
    expected, expected_defs = _model(ExpectedRelease)
    return {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "a token made with `customs-stream tokens add` (buyer or ops)",
        }},
        "schemas": {
            **status_defs, **kpi_defs, **expected_defs,
            "StatusUpdate": status,
            "ExpectedRelease": expected,
            "Declaration": _declaration(status),
            "KpiSnapshot": kpi,
            "Error": {
                "type": "object", "required": ["error", "status"],
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            },
            "DeclarationPage": {
                "type": "object",
                "required": ["buyer_id", "status", "page", "page_size", "total", "next_page",
                             "items"],
                "properties": {
                    "buyer_id": {"type": "string"},
                    "status": {"type": ["string", "null"]},
                    "page": {"type": "integer", "minimum": 1},
                    "page_size": {"type": "integer", "minimum": 1},
                    "total": {"type": "integer", "minimum": 0},
                    "next_page": {"type": ["integer", "null"]},
                    "items": {"type": "array", "items": _ref("Declaration")},
                },
            },
            "FirmStanding": {
                "type": "object",
                "required": ["firm_id", "as_of", "channel", "reasons", "enrolled",
                             "certificates", "returns_in_lookback", "policy_version"],
                "properties": {
                    "firm_id": {"type": "string"},
                    "as_of": {"type": "string", "format": "date-time"},
                    "channel": {"type": "string", "enum": ["GREEN", "STANDARD"]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "enrolled": {"type": "boolean"},
                    "certificates": {"type": "object",
                                     "additionalProperties": {"type": ["string", "null"]}},
                    "returns_in_lookback": {"type": "integer", "minimum": 0},
                    "policy_version": {"type": "string"},
                    "note": {"type": "string"},
                },
            },
            "Kpis": {
                "type": "object", "required": ["kpis"],
                "properties": {"kpis": {"type": "array", "items": _ref("KpiSnapshot")}},
            },
            **subscription_schemas(),
        },
    }


def _declaration(status: dict[str, Any]) -> dict[str, Any]:
    """A StatusUpdate as published, with the expected release made when asked."""
    return {
        **status, "title": "Declaration",
        "required": [*status["required"], "expected_release"],
        "properties": {
            **status["properties"],
            "expected_release": {"oneOf": [_ref("ExpectedRelease"), {"type": "null"}]},
            "expected_release_note": {
                "type": "string",
                "enum": ["INSUFFICIENT_HISTORY", "NOT_OPEN", "NOT_FILED", "BASIS_PENDING"],
                "description": "why expected_release is null: too few past clearances of "
                "its group; released, departed, returned or withdrawn; not filed yet; or "
                "its basis not read yet",
            },
        },
    }


def _data_paths() -> dict[str, Any]:
    return {
        "/declarations/{declaration_id}": _get(
            "A declaration's latest StatusUpdate, as published, and its expected release",
            {"200": _json(_ref("Declaration"), "the latest status update, and a forecast"),
             "400": _error("not a declaration id"), **UNAUTHORISED,
             "404": _error("no such declaration, or another buyer's")},
            [_path_parameter("declaration_id", "18 digits", "^[0-9]{18}$")],
        ),
        "/buyers/{buyer_id}/declarations": _get(
            "A page of a buyer's declarations, by id",
            {"200": _json(_ref("DeclarationPage"), "a page"),
             "400": _error("a page or page size out of range"), **UNAUTHORISED,
             "404": _error("another buyer")},
            [_path_parameter("buyer_id", "the buyer (a buyer token sees only its own)"),
             _query("status", "only declarations in this status",
                    {"type": "string", "enum": [s.value for s in Status]}),
             _query("page", "from 1",
                    {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}),
             _query("page_size", "declarations a page",
                    {"type": "integer", "minimum": 1, "maximum": 500, "default": 50})],
        ),
        "/firms/{firm_id}/eligibility": _get(
            "A firm's standing for the green channel, now or at a time (ops)",
            {"200": _json(_ref("FirmStanding"), "the firm's own standing"),
             "400": _error("not a time"), **UNAUTHORISED,
             "403": _error("not an ops token"), "404": _error("no facts of that firm")},
            [_path_parameter("firm_id", "the firm's id"),
             _query("at", "RFC 3339 with an offset, 1900 to 8999 (default: now)",
                    {"type": "string", "format": "date-time"})],
        ),
        "/kpis": _get("Clearance KPIs per port and channel",
                      {"200": _json(_ref("Kpis"), "the latest KPIs"), **UNAUTHORISED}),
        "/board/data": _get(
            "What the board shows: totals, statuses, KPIs, dead letters (ops)",
            {"200": _json({"type": "object"}, "the board's figures"), **UNAUTHORISED,
             "403": _error("not an ops token")},
        ),
    }


def _public_paths() -> dict[str, Any]:
    def page(summary: str, media: str) -> dict[str, Any]:
        return _get(summary, {"200": {"description": summary, "content": {media: {}}}},
                    security=[])

    def answer(value: bool) -> dict[str, Any]:
        return {"type": "object", "properties": {"ready": {"const": value}}}

    return {
        "/health": _get("Liveness", {"200": _json(
            {"type": "object", "properties": {"status": {"const": "ok"}}}, "alive")},
            security=[]),
        "/ready": _get("Readiness: the read model has caught up",
                       {"200": _json(answer(True), "ready"),
                        "503": _json(answer(False), "catching up")}, security=[]),
        "/metrics": page("Prometheus metrics", "text/plain"),
        "/board": page("The live status board (its data needs an ops token)", "text/html"),
        "/board/chart.js": page("Chart.js, served from here", "text/javascript"),
        "/board/board.js": page("The board's script", "text/javascript"),
    }


def openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "customs-stream API",
            "version": "1",
            "description": "Export customs declarations as the pipeline published them. "
            "Every answer is JSON, errors included ({\"error\", \"status\"}); a buyer "
            "token sees only its buyer's declarations (another's answer 404).",
        },
        "security": BEARER,
        "paths": {**_data_paths(), **subscription_paths(), **_public_paths()},
        "components": _components(),
    }
