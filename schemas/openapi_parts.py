"""The pieces every path of the OpenAPI document is made of."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

REF = "#/components/schemas/{model}"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _model(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's schema with its definitions lifted to the components."""
    schema = TypeAdapter(model).json_schema(mode="serialization", ref_template=REF)
    return schema, schema.pop("$defs", {})


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _path_parameter(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


UNAUTHORISED = {"401": _error("no token, or not a valid one")}


def _get(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
         security: list[dict[str, list[str]]] = BEARER) -> dict[str, Any]:
    """A GET operation: what it answers, and what it takes."""
    operation = {"summary": summary, "security": security, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _operation(method: str, summary: str, responses: dict[str, Any],
               parameters: list[dict[str, Any]], body: str | None = None) -> dict[str, Any]:
    """Another method's operation, behind a token."""
    operation: dict[str, Any] = {"summary": summary, "security": BEARER,
                                 "responses": responses, "parameters": parameters}
    if body:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(body)}}}
    return {method: operation}
