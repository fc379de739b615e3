"""The release decision for a declaration's effective content."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.events import Line
from schemas.outputs import Channel, DecisionKind
from stream.core.policy import Policy

DANGEROUS_GOODS = "DANGEROUS_GOODS"
RANDOM_SAMPLE = "RANDOM_SAMPLE"


def sampling_draw(salt: str, declaration_id: str) -> float:
    """A number in [0, 1) fixed by the declaration id: the same draw on every replay."""
    digest = hashlib.sha256(f"{salt}:{declaration_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reasons: tuple[str, ...]
    draw: float


def decide(
    declaration_id: str,
    problems: Sequence[str],
    lines: Sequence[Line],
    channel: Channel,
    policy: Policy,
) -> Decision:
    u = sampling_draw(policy.sampling_salt, declaration_id)
    if problems:
        return Decision(DecisionKind.DOCUMENT_HOLD, tuple(sorted(problems)), u)
    if any(line.un_number is not None for line in lines):
        return Decision(DecisionKind.INSPECTION_REQUIRED, (DANGEROUS_GOODS,), u)
    if channel is Channel.GREEN:
        rate, otherwise = policy.green_channel.inspection_rate, DecisionKind.IMMEDIATE_RELEASE
    else:
        rate, otherwise = policy.standard_inspection_rate, DecisionKind.STANDARD_REVIEW
    if u < rate:
        return Decision(DecisionKind.INSPECTION_REQUIRED, (RANDOM_SAMPLE,), u)
    return Decision(otherwise, (), u)
