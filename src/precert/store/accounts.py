"""Organizations (tenants), their users with roles, and API tokens: tables and repositories.

Only what the store needs to know lives here; password and token checks are in `security/`, and
the rules about who may do what in `services/accounts.py`. Repositories never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.store.db import UtcDateTime
from precert.store.models import Base

ROLE_LENGTH = 20
EMAIL_LENGTH = 320  # RFC 5321: 64 for the local part + "@" + 255 for the domain


def new_id() -> str:
    return str(uuid.uuid4())


class OrganizationRecord(Base):
    """A tenant: every request, document and user belongs to exactly one."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


class UserRecord(Base):
    """A person who signs in; `totp_secret` is FieldCipher ciphertext, never the secret itself."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    def __repr__(self) -> str:  # the default repr would print the hash and the ciphertext
        return f"UserRecord(id={self.id!r}, role={self.role!r}, disabled={self.disabled!r})"


class ApiTokenRecord(Base):
    """A bearer token, stored only as its SHA-256 digest plus a short prefix people recognise."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id"), nullable=False, index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OrganizationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: OrganizationRecord) -> None:
        self.session.add(record)
        self.session.flush()  # a duplicate name fails here, inside the caller's transaction

    def get(self, organization_id: str) -> OrganizationRecord | None:
        return self.session.get(OrganizationRecord, organization_id)

    def by_name(self, name: str) -> OrganizationRecord | None:
        query = select(OrganizationRecord).where(OrganizationRecord.name == name)
        return self.session.scalars(query).first()

    def all(self) -> list[OrganizationRecord]:
        query = select(OrganizationRecord).order_by(OrganizationRecord.name)
        return list(self.session.scalars(query))


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: UserRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def get(self, user_id: str) -> UserRecord | None:
        return self.session.get(UserRecord, user_id)

    def by_email(self, email: str) -> UserRecord | None:
        """The user with this (already lower-cased) email, in any organization."""
        query = select(UserRecord).where(UserRecord.email == email)
        return self.session.scalars(query).first()

    def in_organization(self, organization_id: str) -> list[UserRecord]:
        query = select(UserRecord).where(UserRecord.organization_id == organization_id)
        return list(self.session.scalars(query.order_by(UserRecord.email)))


class ApiTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: ApiTokenRecord) -> None:
        self.session.add(record)
        self.session.flush()

    def with_user(self, digest: str) -> tuple[ApiTokenRecord, UserRecord] | None:
        """The token with this digest and its user, revoked or not (the caller decides)."""
        query = (
            select(ApiTokenRecord, UserRecord)
            .join(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
            .where(ApiTokenRecord.digest == digest)
        )
        row = self.session.execute(query).first()
        return None if row is None else (row[0], row[1])

    def for_user(self, user_id: str) -> list[ApiTokenRecord]:
        query = select(ApiTokenRecord).where(ApiTokenRecord.user_id == user_id)
        return list(self.session.scalars(query.order_by(ApiTokenRecord.created_at)))
