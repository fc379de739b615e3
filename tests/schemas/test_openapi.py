"""The HTTP API's OpenAPI 3.1 document: valid, and saying what the worker serves (its
answers are checked against it on a live worker in tests/integration/test_api.py)."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from schemas.export import OPENAPI
from schemas.openapi import openapi
from stream.read.web.api import MAX_PAGE_SIZE
from stream.read.web.guard import PROTECTED, PUBLIC


def test_the_committed_document_is_a_valid_openapi_3_1_document() -> None:
    document = json.loads(OPENAPI.read_text())
    assert document == openapi() and document["openapi"] == "3.1.0"
    validate(document)


def test_it_has_every_route_the_worker_registers_and_no_other() -> None:
    # tests/web/test_routes.py ties PUBLIC and PROTECTED to the registered routes.
    assert set(openapi()["paths"]) == PUBLIC | PROTECTED


def test_a_token_is_asked_exactly_where_the_worker_asks_for_one() -> None:
    paths = openapi()["paths"]
    for path in PROTECTED:
        for operation in paths[path].values():
            assert operation["security"] == [{"bearer": []}], path
            assert "401" in operation["responses"], path
    for path in PUBLIC:
        assert list(paths[path]) == ["get"] and paths[path]["get"]["security"] == [], path


def test_the_page_size_limit_is_the_apis() -> None:
    listing = openapi()["paths"]["/buyers/{buyer_id}/declarations"]["get"]["parameters"]
    [size] = [p for p in listing if p["name"] == "page_size"]
    assert size["schema"]["maximum"] == MAX_PAGE_SIZE
