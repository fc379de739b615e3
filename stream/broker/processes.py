"""Is a broker process alive, does its port answer, has it said it started; its log
kept bounded."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

from stream.admin import listening


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def answers(port: int) -> bool:
    """Whether the local broker's port takes a connection."""
    return listening("127.0.0.1", port, timeout=0.5)


def started(log_file: Path, offset: int) -> bool:
    """True once this run of the broker (the log past ``offset``) says it has started."""
    try:
        with log_file.open("rb") as log:
            log.seek(offset)
            return b"Kafka Server started" in log.read()
    except FileNotFoundError:
        return False


def move_aside_if_over(log_file: Path, limit: int) -> None:
    """Move a log over ``limit`` bytes to ``<name>.1``, replacing the one before: what a
    broker says stays bounded across its restarts."""
    if log_file.exists() and log_file.stat().st_size > limit:
        log_file.replace(log_file.with_name(log_file.name + ".1"))
