"""What the modern wizard portal remembers, in one SQLite file (`modern-portal.db`) under its
state directory: signed-in sessions (with the time of their last request, for the idle timeout),
the wizard draft of each user (kept across sign-ins, as real portals keep drafts), a log of
completed sign-ins, and the submitted requests. "Your reference" is UNIQUE, so the database itself
refuses a second request with the same reference (synthetic data only).

One connection guarded by a lock: uvicorn's worker threads share it.
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
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    username TEXT PRIMARY KEY,
    draft TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_ins (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    your_reference TEXT NOT NULL UNIQUE,
    reference_number TEXT NOT NULL UNIQUE,
    submitted_at TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    fields TEXT NOT NULL,
    decision TEXT NOT NULL,
    authorization_number TEXT
);
"""


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    username: str
    verified: bool  # True once the authenticator code was accepted
    last_seen: dt.datetime
    draft: dict[str, Any]  # the user's wizard draft (it outlives the session)


@dataclass(frozen=True, slots=True)
class Submitted:
    your_reference: str
    reference_number: str
    submitted_at: dt.datetime
    fields: dict[str, Any]
    decision: str  # a key of rules.DECISIONS
    authorization_number: str | None


class Duplicate(Exception):
    """A request with this "Your reference" exists already; carries it."""

    def __init__(self, existing: Submitted) -> None:
        super().__init__("a request with this reference exists")
        self.existing = existing


class PortalState:
    """Sessions, drafts and requests of one portal instance."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(state_dir / "modern-portal.db", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # sessions ---------------------------------------------------------------------------------

    def open_session(self, token: str, username: str, at: dt.datetime) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO sessions (token, username, last_seen) VALUES (?, ?, ?)",
                (token, username, at.isoformat()),
            )

    def session(self, token: str) -> Session | None:
        with self._lock:
            row = self._db.execute(
                "SELECT s.token, s.username, s.verified, s.last_seen, d.draft FROM sessions s"
                " LEFT JOIN drafts d ON d.username = s.username WHERE s.token = ?",
                (token,),
            ).fetchone()
        if row is None:
            return None
        return Session(
            token=row["token"],
            username=row["username"],
            verified=bool(row["verified"]),
            last_seen=dt.datetime.fromisoformat(row["last_seen"]),
            draft=json.loads(row["draft"] or "{}"),
        )

    def verify_session(self, token: str, at: dt.datetime) -> None:
        """The authenticator code was right: the sign-in is complete (and logged)."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE sessions SET verified = 1, last_seen = ? WHERE token = ?",
                (at.isoformat(), token),
            )
            self._db.execute(
                "INSERT INTO sign_ins (username, at)"
                " SELECT username, ? FROM sessions WHERE token = ?",
                (at.isoformat(), token),
            )

    def sign_in_count(self) -> int:
        """How many sign-ins completed (password and authenticator code), for tests."""
        with self._lock:
            count: int = self._db.execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0]
        return count

    def end_all_sessions(self) -> int:
        """Sign everybody out, as a portal restart or an idle timeout would (for tests); drafts
        stay. Returns how many sessions ended."""
        with self._lock, self._db:
            ended: int = self._db.execute("DELETE FROM sessions").rowcount
        return ended

    def touch(self, token: str, at: dt.datetime) -> None:
        self._update("UPDATE sessions SET last_seen = ? WHERE token = ?", at, token)

    def end_session(self, token: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM sessions WHERE token = ?", (token,))

    def save_draft(self, username: str, draft: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO drafts (username, draft) VALUES (?, ?)"
                " ON CONFLICT (username) DO UPDATE SET draft = excluded.draft",
                (username, json.dumps(draft)),
            )

    def _update(self, sql: str, at: dt.datetime, token: str) -> None:
        with self._lock, self._db:
            self._db.execute(sql, (at.isoformat(), token))

    # requests ---------------------------------------------------------------------------------

    def by_your_reference(self, your_reference: str) -> Submitted | None:
        return self._one("your_reference", your_reference)

    def by_reference_number(self, reference_number: str) -> Submitted | None:
        return self._one("reference_number", reference_number)

    def submit(
        self,
        your_reference: str,
        username: str,
        fields: dict[str, Any],
        decision: str,
        at: dt.datetime,
    ) -> Submitted:
        """Store a new request and give it its reference number (and an authorization number
        when approved); Duplicate when "Your reference" was used before."""
        with self._lock, self._db:
            try:
                cursor = self._db.execute(
                    "INSERT INTO requests (your_reference, reference_number, submitted_at,"
                    " submitted_by, fields, decision) VALUES (?, '', ?, ?, ?, ?)",
                    (your_reference, at.isoformat(), username, json.dumps(fields), decision),
                )
            except sqlite3.IntegrityError:
                duplicate = True
            else:
                duplicate = False
                number = cursor.lastrowid or 0
                reference = f"PA-{at:%Y}-{number:06d}"
                authorization = f"AUTH{at:%y}{number:07d}" if decision == "approved" else None
                # the reference derives from the row number, so it is set after the insert
                self._db.execute(
                    "UPDATE requests SET reference_number = ?, authorization_number = ?"
                    " WHERE number = ?",
                    (reference, authorization, number),
                )
        if duplicate:
            existing = self.by_your_reference(your_reference)
            assert existing is not None  # the UNIQUE index just found it
            raise Duplicate(existing)
        stored = self.by_your_reference(your_reference)
        assert stored is not None
        return stored

    def _one(self, column: str, value: str) -> Submitted | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT * FROM requests WHERE {column} = ?",  # column: ours, never input
                (value,),
            ).fetchone()
        if row is None:
            return None
        return Submitted(
            your_reference=row["your_reference"],
            reference_number=row["reference_number"],
            submitted_at=dt.datetime.fromisoformat(row["submitted_at"]),
            fields=json.loads(row["fields"]),
            decision=row["decision"],
            authorization_number=row["authorization_number"],
        )
