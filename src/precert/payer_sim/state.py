"""What the simulator remembers, in one SQLite file under its state directory, so a restart
keeps every answer: submissions by Claim identifier (the same request again gets the same answer
and the same authorization number), subscriptions, and the log of what was received
(`received.jsonl` next to it; synthetic data only).

One connection guarded by a lock: the server's request handlers and the decision thread share it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    authorization_number TEXT,
    decide_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_pended ON submissions (decide_at)
    WHERE decide_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL,
    events INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True, slots=True)
class Submission:
    number: int
    identifier: str
    request: dict[str, Any]
    response: dict[str, Any]
    authorization_number: str | None
    decide_at: dt.datetime | None  # set while pended


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    resource: dict[str, Any]


class State:
    """The simulator's store; `close()` it when the server stops."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / "payer-sim.sqlite"
        self.log_path = state_dir / "received.jsonl"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Survives a crash of the simulator (not of the machine) without an fsync per write:
        # what a test payer needs, at a tenth of the cost per submission.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- submissions ------------------------------------------------------------------------

    def find(self, identifier: str) -> Submission | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM submissions WHERE identifier = ?", (identifier,)
            ).fetchone()
        return _submission(row) if row else None

    def add(
        self, identifier: str, request: dict[str, Any], at: dt.datetime
    ) -> tuple[Submission, bool]:
        """Record a new submission (no answer yet), or return the one already recorded under
        `identifier`; the flag says whether it is new. The row number names its authorization."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO submissions (identifier, received_at, request, response)"
                " VALUES (?, ?, ?, '{}')",
                (identifier, at.isoformat(), json.dumps(request)),
            )
            row = self._db.execute(
                "SELECT * FROM submissions WHERE identifier = ?", (identifier,)
            ).fetchone()
        return _submission(row), cursor.rowcount == 1

    def replace_request(self, number: int, request: dict[str, Any]) -> None:
        """A corrected resubmission after a rejection: the new request replaces the refused one
        (the row, and so the authorization number it may earn, stays the same)."""
        with self._lock:
            self._db.execute(
                "UPDATE submissions SET request = ? WHERE number = ?", (json.dumps(request), number)
            )

    def answer(
        self,
        number: int,
        response: dict[str, Any],
        authorization_number: str | None,
        decide_at: dt.datetime | None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE submissions SET response = ?, authorization_number = ?, decide_at = ?"
                " WHERE number = ?",
                (
                    json.dumps(response),
                    authorization_number,
                    decide_at.isoformat() if decide_at else None,
                    number,
                ),
            )

    def withdraw(self, number: int, response: dict[str, Any]) -> None:
        """A cancelled request: its authorization is withdrawn (no longer counted), a pending
        decision never comes, and an inquiry about it gets `response` (the cancellation)."""
        self.answer(number, response, None, None)

    def due(self, now: dt.datetime) -> list[Submission]:
        """Pended submissions whose delay is over."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM submissions WHERE decide_at IS NOT NULL AND decide_at <= ?"
                " ORDER BY number",
                (now.isoformat(),),
            ).fetchall()
        return [_submission(row) for row in rows]

    def authorization_count(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM submissions WHERE authorization_number IS NOT NULL"
            ).fetchone()
        return int(row[0])

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, resource: dict[str, Any]) -> Subscription:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO subscriptions (resource) VALUES (?)", (json.dumps(resource),)
            )
            number = int(cursor.lastrowid or 0)
            stored = {**resource, "id": str(number)}
            self._db.execute(
                "UPDATE subscriptions SET resource = ? WHERE id = ?", (json.dumps(stored), number)
            )
        return Subscription(number, stored)

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            rows = self._db.execute("SELECT id, resource FROM subscriptions").fetchall()
        return [Subscription(int(r[0]), json.loads(r[1])) for r in rows]

    def next_event(self, subscription_id: int) -> int:
        """The next event number of a subscription (1, 2...), as the notification carries it."""
        with self._lock:
            self._db.execute(
                "UPDATE subscriptions SET events = events + 1 WHERE id = ?", (subscription_id,)
            )
            row = self._db.execute(
                "SELECT events FROM subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
        return int(row[0])

    # -- the received log -------------------------------------------------------------------

    def log(self, at: dt.datetime, operation: str, status: int, body: object) -> None:
        """Append what was received and how it was answered (synthetic data only)."""
        line = json.dumps(
            {"at": at.isoformat(), "operation": operation, "status": status, "body": body}
        )
        with self._lock, self.log_path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def _submission(row: tuple[Any, ...]) -> Submission:
    number, identifier, _received, request, response, authorization, decide_at = row
    return Submission(
        int(number),
        str(identifier),
        json.loads(request),
        json.loads(response),
        authorization,
        dt.datetime.fromisoformat(decide_at) if decide_at else None,
    )
