"""Portal credentials at rest: the `portal_credentials` and `credential_leases` tables, and the
repository that encrypts every secret on the way in and decrypts it on the way out.

Usernames, passwords, authenticator secrets and IMAP logins are FieldCipher ciphertext bound to
the field, the organization and the credential id, so a value copied to another row does not
decrypt. A lease is one row per credential, taken with a single conditional UPDATE: on PostgreSQL
the row lock makes a concurrent UPDATE re-check the condition, on SQLite writes are serialised, so
two runs can never both see "free" and both take it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import SecretStr
from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base

CREDENTIALS_TABLE = "portal_credentials"
NAME_LENGTH = 100
HOLDER_LENGTH = 200

_Seal = Callable[[str, str], str]  # (field name, plaintext) -> ciphertext
_Open = Callable[[str, str | None], str | None]  # (field name, ciphertext) -> plaintext


@dataclass(frozen=True, slots=True)
class ImapSettings:
    """Where a portal's email codes arrive; `security` is "ssl", "starttls" or "plain"."""

    host: str
    port: int
    username: str = field(repr=False)
    password: SecretStr = field(repr=False)
    folder: str = "INBOX"
    sender: str | None = None
    security: str = "ssl"


@dataclass(frozen=True, slots=True)
class PortalCredential:
    """One decrypted portal login; every secret is hidden from repr (it reaches logs otherwise)."""

    id: str
    organization_id: str
    name: str
    username: str = field(repr=False)
    password: SecretStr | None = field(repr=False)
    totp_secret: SecretStr | None = field(repr=False)
    imap: ImapSettings | None = field(repr=False)
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CredentialSummary:
    """What a list shows: the name and which factors are set up, never a secret."""

    name: str
    has_password: bool
    has_totp: bool
    has_imap: bool
    updated_at: dt.datetime


class PortalCredentialRecord(Base):
    """A portal login; the username and all secrets are ciphertext."""

    __tablename__ = CREDENTIALS_TABLE
    __table_args__ = (
        UniqueConstraint("organization_id", "name", name="uq_portal_credentials_org_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    username: Mapped[str] = mapped_column(Text, nullable=False)
    password: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    imap_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    imap_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    imap_security: Mapped[str | None] = mapped_column(String(10), nullable=True)
    imap_username: Mapped[str | None] = mapped_column(Text, nullable=True)
    imap_password: Mapped[str | None] = mapped_column(Text, nullable=True)
    imap_folder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    imap_sender: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)

    def __repr__(self) -> str:  # the default repr would print ciphertext and the IMAP host
        return f"PortalCredentialRecord(id={self.id!r}, name={self.name!r})"


class CredentialLeaseRecord(Base):
    """Who holds a credential until when; holder NULL (or expires_at past) means it is free."""

    __tablename__ = "credential_leases"

    credential_id: Mapped[str] = mapped_column(
        String(36), ForeignKey(f"{CREDENTIALS_TABLE}.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str | None] = mapped_column(String(HOLDER_LENGTH), nullable=True)
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CredentialRepository:
    """Tenant-scoped credentials and their leases. Repositories never commit; the unit of work
    does."""

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session = session
        self._cipher = cipher

    def record_named(self, organization_id: str, name: str) -> PortalCredentialRecord | None:
        query = select(PortalCredentialRecord).where(
            PortalCredentialRecord.organization_id == organization_id,
            PortalCredentialRecord.name == name,
        )
        return self.session.scalars(query).first()

    def get(self, organization_id: str, name: str) -> PortalCredential | None:
        record = self.record_named(organization_id, name)
        return None if record is None else self._to_domain(record)

    def save(self, credential: PortalCredential) -> bool:
        """Insert the credential (with its free lease row) or replace the secrets of the one with
        the same id; True when it was new. Flushes, so a duplicate name fails here."""
        record = self.session.get(PortalCredentialRecord, credential.id)
        created = record is None
        if record is None:
            record = PortalCredentialRecord(
                id=credential.id,
                organization_id=credential.organization_id,
                name=credential.name,
                created_at=credential.created_at,
            )
            self.session.add(record)
        self._seal_into(record, credential)
        self.session.flush()
        if created:
            self.session.add(CredentialLeaseRecord(credential_id=credential.id))
            self.session.flush()
        return created

    def summaries(self, organization_id: str) -> list[CredentialSummary]:
        """Names and flags only: the secrets are never even decrypted for a list."""
        query = (
            select(PortalCredentialRecord)
            .where(PortalCredentialRecord.organization_id == organization_id)
            .order_by(PortalCredentialRecord.name)
        )
        return [
            CredentialSummary(
                name=row.name,
                has_password=row.password is not None,
                has_totp=row.totp_secret is not None,
                has_imap=row.imap_host is not None,
                updated_at=row.updated_at,
            )
            for row in self.session.scalars(query)
        ]

    # -- leases -----------------------------------------------------------------------------------

    def try_lease(
        self, credential_id: str, *, holder: str, now: dt.datetime, expires_at: dt.datetime
    ) -> bool:
        """Take (or renew, for the same holder) the lease in one statement; False when another
        holder's lease is still live."""
        lease = CredentialLeaseRecord
        statement = (
            update(lease)
            .where(
                lease.credential_id == credential_id,
                or_(lease.holder.is_(None), lease.expires_at <= now, lease.holder == holder),
            )
            .values(holder=holder, acquired_at=now, expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )
        result = self.session.execute(statement)
        return _rowcount(result) == 1

    def release(self, credential_id: str, *, holder: str) -> bool:
        """Free the lease if `holder` holds it; False when it was not theirs (or already free)."""
        lease = CredentialLeaseRecord
        statement = (
            update(lease)
            .where(lease.credential_id == credential_id, lease.holder == holder)
            .values(holder=None, acquired_at=None, expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(self.session.execute(statement)) == 1

    def lease_of(self, credential_id: str) -> CredentialLeaseRecord | None:
        return self.session.get(CredentialLeaseRecord, credential_id, populate_existing=True)

    # -- encryption -------------------------------------------------------------------------------

    def _seal_into(self, record: PortalCredentialRecord, credential: PortalCredential) -> None:
        seal = self._sealer(credential.organization_id, credential.id)
        record.username = seal("username", credential.username)
        record.password = _maybe(seal, "password", credential.password)
        record.totp_secret = _maybe(seal, "totp_secret", credential.totp_secret)
        imap = credential.imap
        record.imap_host = None if imap is None else imap.host
        record.imap_port = None if imap is None else imap.port
        record.imap_security = None if imap is None else imap.security
        record.imap_username = None if imap is None else seal("imap_username", imap.username)
        record.imap_password = _maybe(
            seal, "imap_password", None if imap is None else imap.password
        )
        record.imap_folder = None if imap is None else imap.folder
        record.imap_sender = None if imap is None else imap.sender
        record.updated_at = credential.updated_at

    def _sealer(self, organization_id: str, credential_id: str) -> _Seal:
        def seal(name: str, value: str) -> str:
            return self._cipher.encrypt(
                value, context=_context(name, organization_id, credential_id)
            )

        return seal

    def _to_domain(self, record: PortalCredentialRecord) -> PortalCredential:
        def open_(name: str, token: str | None) -> str | None:
            if token is None:
                return None
            context = _context(name, record.organization_id, record.id)
            return self._cipher.decrypt(token, context=context)

        return PortalCredential(
            id=record.id,
            organization_id=record.organization_id,
            name=record.name,
            username=open_("username", record.username) or "",
            password=_secret(open_("password", record.password)),
            totp_secret=_secret(open_("totp_secret", record.totp_secret)),
            imap=self._imap(record, open_),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    @staticmethod
    def _imap(record: PortalCredentialRecord, open_: _Open) -> ImapSettings | None:
        if record.imap_host is None or record.imap_port is None:
            return None
        return ImapSettings(
            host=record.imap_host,
            port=record.imap_port,
            username=open_("imap_username", record.imap_username) or "",
            password=SecretStr(open_("imap_password", record.imap_password) or ""),
            folder=record.imap_folder or "INBOX",
            sender=record.imap_sender,
            security=record.imap_security or "ssl",
        )


def _maybe(seal: _Seal, name: str, value: SecretStr | None) -> str | None:
    return None if value is None else seal(name, value.get_secret_value())


def _secret(value: str | None) -> SecretStr | None:
    return None if value is None else SecretStr(value)


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def _context(name: str, organization_id: str, credential_id: str) -> str:
    return f"{CREDENTIALS_TABLE}.{name}:{organization_id}:{credential_id}"
