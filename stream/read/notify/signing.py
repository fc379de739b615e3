"""Signatures per the Standard Webhooks specification (standardwebhooks.com): the
``webhook-signature`` header is ``v1,`` + base64 of HMAC-SHA256, keyed with the secret's
bytes, over ``{webhook-id}.{webhook-timestamp}.{body}``. A secret is ``whsec_`` + base64
of 32 random bytes. During a rotation a delivery carries one signature per secret,
space-separated, so a receiver holding either verifies it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_of(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_force: list[str], webhook_id: str, timestamp: int, body: bytes,
    replay: bool = False,
) -> dict[str, str]:
    """The headers of one attempt: its id, its own timestamp and a signature with each
    secret in force (the newest first)."""
    signed = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(s, webhook_id, timestamp, body) for s in secrets_in_force
        ),
        "content-type": "application/json",
    }
    if replay:
        signed["webhook-replay"] = "true"
    return signed
