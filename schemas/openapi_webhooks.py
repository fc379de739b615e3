"""The webhook subscriptions' paths and schemas of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from schemas.openapi_parts import (
    UNAUTHORISED,
    _error,
    _get,
    _json,
    _model,
    _operation,
    _path_parameter,
    _ref,
)
from schemas.outputs import Status
from schemas.webhooks import WebhookAttempt


def subscription_schemas() -> dict[str, Any]:
    text_list = {"type": "array", "items": {"type": "string"}}
    shown = {
        "type": "object",
        "required": ["id", "buyer_id", "url", "statuses", "ports", "channels", "state",
                     "created_at", "rotating_until"],
        "properties": {
            "id": {"type": "string"}, "buyer_id": {"type": "string"},
            "url": {"type": "string"}, "statuses": text_list, "ports": text_list,
            "channels": text_list,
            "state": {"type": "string", "enum": ["active", "paused", "disabled", "deleted"]},
            "created_at": {"type": "number", "description": "epoch seconds"},
            "rotating_until": {"type": ["number", "null"],
                               "description": "the previous secret signs until then"},
        },
    }
    return {
        "Subscription": shown,
        "SubscriptionWithSecret": {"allOf": [shown, {
            "type": "object", "required": ["secret"],
            "properties": {"secret": {"type": "string", "pattern": "^whsec_",
                                      "description": "shown in this answer only"}},
        }]},
        "SubscriptionChange": {"allOf": [shown, {
            "type": "object",
            "properties": {"secret": {"type": "string", "pattern": "^whsec_"}},
        }]},
        "NewSubscription": {
            "type": "object", "required": ["url"], "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "maxLength": 2048,
                        "description": "https, to a public address"},
                "statuses": {"type": "array", "maxItems": 32,
                             "items": {"type": "string", "enum": [s.value for s in Status]}},
                "ports": {"type": "array", "maxItems": 32, "items": {"type": "string"}},
                "channels": {"type": "array", "maxItems": 32,
                             "items": {"type": "string", "enum": ["GREEN", "STANDARD"]}},
            },
        },
        "Subscriptions": {
            "type": "object", "required": ["buyer_id", "items"],
            "properties": {"buyer_id": {"type": "string"},
                           "items": {"type": "array", "items": _ref("Subscription")}},
        },
        "Deliveries": {
            "type": "object", "required": ["subscription_id", "items"],
            "properties": {"subscription_id": {"type": "string"}, "items": {
                "type": "array", "items": _ref("WebhookAttempt")}},
        },
        "WebhookAttempt": _model(WebhookAttempt)[0],
    }


def subscription_paths() -> dict[str, Any]:
    buyer = _path_parameter("buyer_id", "the buyer (a buyer token manages only its own)")
    sid = _path_parameter("subscription_id", "the subscription")
    missing = {**UNAUTHORISED, "404": _error("no such subscription, or another buyer's")}
    off = {"503": _error("no webhook key here: subscriptions cannot change")}
    base = "/buyers/{buyer_id}/subscriptions"
    one = base + "/{subscription_id}"
    changed = {"200": _json(_ref("SubscriptionChange"), "as it is now"), **missing, **off}
    paths: dict[str, Any] = {
        base: {
            **_get("A buyer's webhook subscriptions (never their secrets)",
                   {"200": _json(_ref("Subscriptions"), "the subscriptions"), **missing},
                   [buyer]),
            **_operation("post", "Subscribe a URL; the answer holds its signing secret, once",
                         {"201": _json(_ref("SubscriptionWithSecret"), "made"),
                          "400": _error("not a subscription, or a URL refused"), **missing,
                          **off}, [buyer], body="NewSubscription"),
        },
        one: {
            **_get("One subscription", {"200": _json(_ref("Subscription"), "it"), **missing},
                   [buyer, sid]),
            **_operation("delete", "Delete it; what was queued for it is dropped", changed,
                         [buyer, sid]),
        },
        one + "/deliveries": _get(
            "Its latest delivery attempts, the latest first",
            {"200": _json(_ref("Deliveries"), "attempts"), **missing}, [buyer, sid]),
    }
    for what, summary in (("rotate", "A new secret (in the answer); the old one signs "
                                     "for 24 hours more"),
                          ("pause", "Hold deliveries (they wait, queued)"),
                          ("resume", "Deliver again (also after a 410 disabled it)")):
        paths[f"{one}/{what}"] = _operation("post", summary, changed, [buyer, sid])
    paths[f"{one}/replay"] = _operation(
        "post", "Send again, as a separate stream marked webhook-replay, what it would have "
        "received from `since` until now",
        {"202": _json({"type": "object", "required": ["subscription_id", "replay_id", "since"],
                       "properties": {"subscription_id": {"type": "string"},
                                      "replay_id": {"type": "string"},
                                      "since": {"type": "string", "format": "date-time"}}},
                      "asked"),
         "400": _error("since is not a past RFC 3339 time"), **missing, **off},
        [buyer, sid, {"name": "since", "in": "query", "required": True,
                      "description": "RFC 3339 with an offset", "schema": {
                          "type": "string", "format": "date-time"}}])
    return paths
