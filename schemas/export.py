"""Published contracts for integrators: one JSON Schema per topic, an AsyncAPI 3
document and the HTTP API's OpenAPI 3.1 document, generated from the models.
``python -m schemas.export`` rewrites them; a test fails when the committed files are
stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.events import TOPIC_UNIONS
from schemas.openapi import openapi
from schemas.outputs import (
    DeadLetter,
    Duplicate,
    ForecastBasis,
    KpiSnapshot,
    ReleaseDecision,
    StatusUpdate,
)
from schemas.webhooks import WebhookAttempt, WebhookDeadLetter

HERE = Path(__file__).resolve().parent
JSON_DIR = HERE / "json"
ASYNCAPI = HERE / "asyncapi.json"
OPENAPI = HERE / "openapi.json"

OUTPUTS: dict[str, Any] = {
    "declaration-status": StatusUpdate,
    "release-decisions": ReleaseDecision,
    "clearance-kpis": KpiSnapshot,
    "forecast-basis": ForecastBasis,
    "dead-letters": DeadLetter,
    "duplicates": Duplicate,
    "webhook-deliveries": WebhookAttempt,
    "webhook-dead-letters": WebhookDeadLetter,
}
KEYS = {
    "declarations": "declaration_id", "inspections": "declaration_id",
    "releases": "declaration_id", "returns": "original_declaration_id", "firms": "firm_id",
    "declaration-status": "declaration_id", "release-decisions": "declaration_id",
    "clearance-kpis": "port/channel", "forecast-basis": "declaration_id",
    "dead-letters": "the original message's key",
    "duplicates": "the original message's key",
    "webhook-deliveries": "subscription id", "webhook-dead-letters": "declaration_id",
}


CAUSED_BY = {
    "type": "string", "pattern": "^[a-z-]+:[0-9]+:[0-9]+$",
    "description": "topic:partition:offset of the input message behind this output",
}
EVENTS = {
    "type": "string", "contentMediaType": "application/json",
    "description": "JSON array of the events the view was built from: e:<event_id> for "
    "declaration events, r:<event_id> for returns",
}
HEADERS: dict[str, dict[str, Any]] = {
    "declaration-status": {"x-caused-by": CAUSED_BY, "x-events": EVENTS},
    "release-decisions": {"x-caused-by": CAUSED_BY},
}


def topic_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of the messages of every topic, by topic name."""
    schemas: dict[str, dict[str, Any]] = {}
    for topic, model in {**TOPIC_UNIONS, **OUTPUTS}.items():
        schema = TypeAdapter(model).json_schema(mode="serialization" if topic in OUTPUTS
                                                else "validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{topic}.schema.json"
        schema.setdefault("title", topic)
        schemas[topic] = schema
    return schemas


WEBHOOK_HEADERS: dict[str, Any] = {
    "type": "object", "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {"type": "string", "pattern": "^[0-9]{18}:[0-9]+$",
                       "description": "{declaration_id}:{sequence}: the same id is the "
                       "same update (de-duplicate on it)"},
        "webhook-timestamp": {"type": "string", "pattern": "^[0-9]+$",
                              "description": "the attempt's own time, epoch seconds"},
        "webhook-signature": {"type": "string", "description": "v1,<base64 HMAC-SHA256 "
                              "of {id}.{timestamp}.{body}>, one per secret in force, "
                              "space-separated (Standard Webhooks)"},
        "webhook-replay": {"const": "true", "description": "present on a replay's deliveries"},
    },
}


def _webhook(channels: dict[str, Any], operations: dict[str, Any],
             messages: dict[str, Any]) -> None:
    """The webhook a notifier POSTs to a subscription's URL: a StatusUpdate as published."""
    messages["webhook_status_update"] = {
        "name": "webhook_status_update", "contentType": "application/json",
        "summary": "A status update as published on declaration-status, signed per the "
                   "Standard Webhooks specification; in sequence order per declaration",
        "payload": {"schemaFormat": "application/schema+json;version=draft-07",
                    "schema": {"$ref": "json/declaration-status.schema.json"}},
        "headers": WEBHOOK_HEADERS,
    }
    channels["buyer_webhook"] = {
        "address": "{url}",
        "parameters": {"url": {"description": "the subscription's URL (https)"}},
        "messages": {"webhook_status_update": {
            "$ref": "#/components/messages/webhook_status_update"}},
    }
    operations["deliver_buyer_webhook"] = {
        "action": "send", "channel": {"$ref": "#/channels/buyer_webhook"},
        "summary": "POST; 2xx is delivered, 410 disables the subscription, anything "
                   "else is retried with backoff for up to 24 hours",
        "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
    }


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in topic_schemas():
        name = topic.replace("-", "_")
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            # The payload is plain JSON Schema (pydantic's), declared as such: it is not an
            # AsyncAPI schema object (whose ``discriminator`` is another keyword).
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-07",
                "schema": {"$ref": f"json/{topic}.schema.json"},
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": KEYS[topic]}}},
        }
        if topic in HEADERS:
            messages[name]["headers"] = {"type": "object", "properties": HEADERS[topic]}
        channels[name] = {
            "address": f"{{prefix}}.{topic}",
            "parameters": {"prefix": {"description": "CUSTOMS_STREAM_TOPIC_PREFIX"}},
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"{'publish' if topic in OUTPUTS else 'receive'}_{name}"] = {
            "action": "send" if topic in OUTPUTS else "receive",
            "channel": {"$ref": f"#/channels/{name}"},
        }
    _webhook(channels, operations, messages)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "customs-stream",
            "version": "1",
            "description": "Export customs declaration tracking: inputs the pipeline "
            "receives and outputs it sends. Every message is one UTF-8 JSON object.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def rendered() -> dict[Path, str]:
    """Every published contract file and its exact content."""
    files = {
        JSON_DIR / f"{topic}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for topic, schema in topic_schemas().items()
    }
    files[ASYNCAPI] = json.dumps(asyncapi(), indent=2) + "\n"
    files[OPENAPI] = json.dumps(openapi(), indent=2) + "\n"
    return files


def write() -> list[Path]:
    JSON_DIR.mkdir(exist_ok=True)
    written = []
    for path, text in rendered().items():
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(HERE.parent))
