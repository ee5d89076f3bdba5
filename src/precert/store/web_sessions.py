"""Browser sessions (table `web_sessions`, migration 0005) and their repository.

The cookie carries a random token; the row's id is only its SHA-256 digest, so a copy of the
table signs nobody in. The rules (timeouts, the code step) live in `services/web_sessions.py`.
Repositories never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.store.accounts import UserRecord
from precert.store.db import UtcDateTime
from precert.store.models import Base


class WebSessionRecord(Base):
    """One signed-in browser (or one half-way through the authenticator-code step)."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id"), nullable=False, index=True
    )
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    # False between the password and the authenticator code of a two-step login.
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def __repr__(self) -> str:  # the default repr would print the CSRF token
        return f"WebSessionRecord(user_id={self.user_id!r}, verified={self.verified!r})"


class WebSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: WebSessionRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def with_user(self, digest: str) -> tuple[WebSessionRecord, UserRecord] | None:
        """The session with this digest and its user, revoked or expired or not (caller decides)."""
        query = (
            select(WebSessionRecord, UserRecord)
            .join(UserRecord, UserRecord.id == WebSessionRecord.user_id)
            .where(WebSessionRecord.id == digest)
        )
        row = self.session.execute(query).first()
        return None if row is None else (row[0], row[1])

    def revoke_all_for_user(self, user_id: str, at: dt.datetime) -> int:
        """End every live session of a user (e.g. when they are disabled); returns how many."""
        result = self.session.execute(
            update(WebSessionRecord)
            .where(WebSessionRecord.user_id == user_id, WebSessionRecord.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)
