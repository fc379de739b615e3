"""Declarations' events, grouped by declaration on disk, so that a source of any size is
read once, in any order, with memory that does not grow with it.

Each event id is kept once per declaration and key space, the first version read
standing, as the pipeline's ledger does: a repeat or a conflicting copy changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from stream.core.ledger import Seen

LIFECYCLE, RETURN = "e", "r"  # the two key spaces of a declaration's events
CACHE_KIB = 32 * 1024  # SQLite's page cache: the spool's whole share of memory


class Spool:
    def __init__(self, folder: Path) -> None:
        self._db = sqlite3.connect(folder / "events.sqlite3", isolation_level=None)
        self._db.executescript(f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -{CACHE_KIB};
            PRAGMA temp_store = FILE;
            CREATE TABLE events (
                declaration_id TEXT NOT NULL,
                space TEXT NOT NULL,
                event_id TEXT NOT NULL,
                digest TEXT NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY (declaration_id, space, event_id)
            ) WITHOUT ROWID;
            BEGIN;
        """)

    def add(self, declaration_id: str, space: str, event_id: str, digest: str,
            body: bytes) -> Seen:
        """Keep an event: NEW; DUPLICATE (the same content again) or CONFLICT (another
        content under a known id, which is not kept)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
            (declaration_id, space, event_id, digest, body),
        )
        if cursor.rowcount == 1:
            return Seen.NEW
        (known,) = self._db.execute(
            "SELECT digest FROM events WHERE declaration_id = ? AND space = ? AND event_id = ?",
            (declaration_id, space, event_id),
        ).fetchone()
        return Seen.DUPLICATE if known == digest else Seen.CONFLICT

    def count(self) -> int:
        """How many declarations have events here."""
        (found,) = self._db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT declaration_id FROM events)"
        ).fetchone()
        return int(found)

    def declarations(self) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
        """Each declaration with its events' key space and body, one at a time."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        current: str | None = None
        events: list[tuple[str, bytes]] = []
        for declaration_id, space, body in self._db.execute(
            "SELECT declaration_id, space, body FROM events ORDER BY declaration_id"
        ):
            if declaration_id != current:
                if current is not None:
                    yield current, events
                current, events = declaration_id, []
            events.append((space, body))
        if current is not None:
            yield current, events

    def close(self) -> None:
        self._db.close()
