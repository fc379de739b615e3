"""Signatures as the Standard Webhooks libraries verify them (the standardwebhooks
package, not our code, is the judge)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from stream.read.notify import signing

BODY = b'{"declaration_id":"310020260000000101","sequence":2,"status":"RELEASED"}'


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_standardwebhooks_verifies_a_delivery() -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], "310020260000000101:2", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers)["sequence"] == 2
    assert headers["webhook-signature"].startswith("v1,")


def test_a_changed_body_or_another_secret_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = signing.headers([secret], "d:1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"RELEASED", b"ACCEPTED"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_an_old_timestamp_is_rejected_so_each_attempt_signs_its_own() -> None:
    secret = signing.new_secret()
    stale = signing.headers([secret], "d:1", int(time.time()) - 600, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, stale)


def test_during_a_rotation_either_secret_verifies() -> None:
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "d:1", int(time.time()), BODY, replay=True)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["webhook-replay"] == "true"
    for secret in (new, old):
        Webhook(secret).verify(BODY, headers)
