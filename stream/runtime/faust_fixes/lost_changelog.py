"""Fix 5: a lost changelog write stops the worker, like a lost output (checked against
faust-streaming 0.15.3, which logged it and went on): the offsets behind it must not be
committed."""

from __future__ import annotations

from typing import Any

from faust.tables.base import Collection

from stream.runtime.faust_fixes.base import fail_stop, faust_original


def _on_changelog_sent(self: Any, fut: Any) -> None:
    if fut.cancelled() or fut.exception() is not None:
        reason = "cancelled" if fut.cancelled() else repr(fut.exception())
        fail_stop(f"a changelog write of table {self.name!r} was lost ({reason})")
        return
    faust_original(Collection, "_on_changelog_sent")(self, fut)


PATCHES: list[tuple[type, str, Any]] = [
    (Collection, "_on_changelog_sent", _on_changelog_sent),
]
