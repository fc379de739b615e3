"""Fix 9: every write of the worker is idempotent and waits for every in-sync replica
(checked against faust-streaming 0.15.3; no upstream issue). Faust asks aiokafka for
``enable_idempotence`` (and ``acks="all"``) only inside a transaction
(``Producer._settings_extra``); at least once, a send retried after a leader moved may
be written twice, and a retried batch may land after the one sent behind it. With
idempotence the broker drops the repeat and keeps the order; the outputs carry their
own sequence numbers besides, so this is for the changelogs as much."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import Producer

from stream.kafka import PRODUCER_DELIVERY
from stream.runtime.faust_fixes.base import faust_original


def _settings_extra(self: Any) -> Mapping[str, Any]:
    return {**faust_original(Producer, "_settings_extra")(self), **PRODUCER_DELIVERY}


PATCHES: list[tuple[type, str, Any]] = [
    (Producer, "_settings_extra", _settings_extra),
]
