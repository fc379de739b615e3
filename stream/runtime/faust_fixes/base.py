"""What every fix shares: Faust's classes they patch, Faust's own versions of what they
replace, and how a fix stops the worker (fail-stop)."""

from __future__ import annotations

import logging
import os
from typing import Any

from faust.transport import consumer as consumer_module

log = logging.getLogger("stream.runtime.faust_fixes")

EXIT_LOST_WRITE = 70  # EX_SOFTWARE: the supervisor restarts; the last commit stands

Consumer = consumer_module.Consumer
ThreadDelegateConsumer = consumer_module.ThreadDelegateConsumer
# Faust's own attribute, by class and name, once a fix replaced it
ORIGINAL: dict[tuple[type, str], Any] = {}


def faust_original(owner: type, name: str) -> Any:
    """Faust's own version of a patched attribute."""
    return ORIGINAL.get((owner, name)) or owner.__dict__[name]


def fail_stop(reason: str) -> None:
    """Stop the process at once, before any further commit: the restarted worker
    reprocesses from the last commit (outputs are idempotent)."""
    log.critical("%s; stopping", reason)
    logging.shutdown()
    os._exit(EXIT_LOST_WRITE)
