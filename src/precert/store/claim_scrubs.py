"""Kept claim scrubs at rest: the `claim_scrubs` table and its tenant-scoped repository.

One row per scrubbed 837: who scrubbed it and when, the file's sha256, the counts the list shows
(claims, lines, clean lines, errors, warnings, fixable, unreadable) in plain columns, a PHI-free
`findings` JSON (finding counts by kind, and by payer and kind for the lines that are not ok: no
member, claim or authorization ids, so the dashboard sums it without decrypting), and three
ciphertexts: the uploaded filename (it may name a patient), the scrub's result JSON (it holds
member ids) and the corrected 837 when one was made (the whole claim file). Each is bound to its
field and organization (context "claim_scrubs.<field>:<org id>"), so a value copied into another
row or organization does not decrypt. Every method takes the organization id and filters by it.
Repositories never commit; the unit of work does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from precert.errors import Issue, NotFound
from precert.security.crypto import FieldCipher
from precert.store.db import UtcDateTime
from precert.store.models import Base

CLAIM_SCRUBS_TABLE = "claim_scrubs"
LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class ScrubCounts:
    """What a scrubbed file held and what was found, as the list of scrubs shows it."""

    claims: int = 0
    lines: int = 0
    clean_lines: int = 0
    errors: int = 0
    warnings: int = 0
    fixable: int = 0
    unreadable: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "claims": self.claims,
            "lines": self.lines,
            "clean_lines": self.clean_lines,
            "errors": self.errors,
            "warnings": self.warnings,
            "fixable": self.fixable,
            "unreadable": self.unreadable,
        }


@dataclass(frozen=True, slots=True)
class FindingSummary:
    """A scrub's findings without PHI: how many of each kind in the file, and for the lines that
    are not ok, how many of each kind per payer (our payer id, or the X12 id of an unknown one)."""

    by_kind: dict[str, int] = field(default_factory=dict)
    by_payer: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_kind": dict(self.by_kind),
            "by_payer": {p: dict(k) for p, k in self.by_payer.items()},
        }

    @classmethod
    def from_dict(cls, value: Any) -> FindingSummary:
        if not isinstance(value, dict):
            return cls()
        by_kind = value.get("by_kind") or {}
        by_payer = value.get("by_payer") or {}
        return cls(
            {str(k): int(n) for k, n in by_kind.items()},
            {str(p): {str(k): int(n) for k, n in kinds.items()} for p, kinds in by_payer.items()},
        )


@dataclass(frozen=True, slots=True)
class ScrubTotals:
    """An organization's kept scrubs over a period, summed (what the dashboard shows)."""

    scrubs: int = 0
    lines: int = 0
    clean_lines: int = 0
    findings: FindingSummary = field(default_factory=FindingSummary)

    @property
    def lines_with_findings(self) -> int:
        return self.lines - self.clean_lines


@dataclass(frozen=True, slots=True)
class ClaimScrub:
    """One kept scrub without its result (what a list needs)."""

    id: str
    organization_id: str
    filename: str
    sha256: str
    scrubbed_at: dt.datetime
    actor: str
    counts: ScrubCounts
    has_corrected: bool = False
    findings: FindingSummary = field(default_factory=FindingSummary)

    def __repr__(self) -> str:  # never the filename: it may name the patient
        return f"ClaimScrub(id={self.id!r}, sha256={self.sha256[:12]!r})"


@dataclass(frozen=True, slots=True)
class KeptScrub:
    """One kept scrub with its result JSON and, when one was made, the corrected 837."""

    scrub: ClaimScrub
    result: dict[str, Any]
    corrected: str | None

    def __repr__(self) -> str:  # the result holds member ids
        return f"KeptScrub(id={self.scrub.id!r})"


class ClaimScrubRecord(Base):
    __tablename__ = CLAIM_SCRUBS_TABLE
    __table_args__ = (Index("ix_claim_scrubs_org_scrubbed_at", "organization_id", "scrubbed_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id"), nullable=False
    )
    filename: Mapped[str] = mapped_column(Text, nullable=False)  # ciphertext
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    scrubbed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    claims: Mapped[int] = mapped_column(Integer, nullable=False)
    lines: Mapped[int] = mapped_column(Integer, nullable=False)
    clean_lines: Mapped[int] = mapped_column(Integer, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, nullable=False)
    warnings: Mapped[int] = mapped_column(Integer, nullable=False)
    fixable: Mapped[int] = mapped_column(Integer, nullable=False)
    unreadable: Mapped[int] = mapped_column(Integer, nullable=False)
    findings: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)  # FindingSummary, no PHI
    result: Mapped[str] = mapped_column(Text, nullable=False)  # ciphertext of the result JSON
    corrected: Mapped[str | None] = mapped_column(Text, nullable=True)  # ciphertext of the 837

    def __repr__(self) -> str:
        return f"ClaimScrubRecord(id={self.id!r})"


class ClaimScrubRepository:
    """Tenant-scoped access to kept scrubs; the cipher seals the filename, result and 837."""

    def __init__(self, session: Session, cipher: FieldCipher) -> None:
        self.session = session
        self._cipher = cipher

    def add(self, scrub: ClaimScrub, result: dict[str, Any], corrected: str | None) -> None:
        org = scrub.organization_id
        counts = scrub.counts
        self.session.add(
            ClaimScrubRecord(
                id=scrub.id,
                organization_id=org,
                filename=self._seal(scrub.filename, "filename", org),
                sha256=scrub.sha256,
                scrubbed_at=scrub.scrubbed_at,
                actor=scrub.actor,
                claims=counts.claims,
                lines=counts.lines,
                clean_lines=counts.clean_lines,
                errors=counts.errors,
                warnings=counts.warnings,
                fixable=counts.fixable,
                unreadable=counts.unreadable,
                findings=scrub.findings.as_dict(),
                result=self._seal(json.dumps(result, separators=(",", ":")), "result", org),
                corrected=None if corrected is None else self._seal(corrected, "corrected", org),
            )
        )

    def newest(self, organization_id: str, *, limit: int = LIST_LIMIT) -> list[ClaimScrub]:
        """The organization's scrubs, newest first (the result is not decrypted here)."""
        query = (
            select(ClaimScrubRecord)
            .where(ClaimScrubRecord.organization_id == organization_id)
            .order_by(ClaimScrubRecord.scrubbed_at.desc(), ClaimScrubRecord.id.desc())
            .limit(limit)
        )
        return [self._summary(row) for row in self.session.scalars(query)]

    def totals_since(self, organization_id: str, since: dt.datetime) -> ScrubTotals:
        """The organization's scrubs kept at or after `since`: lines summed in the database, the
        finding summaries (one small JSON per scrubbed file, never a ciphertext) summed here."""
        r = ClaimScrubRecord
        where = (r.organization_id == organization_id, r.scrubbed_at >= since)
        scrubs, lines, clean = self.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(r.lines), 0),
                func.coalesce(func.sum(r.clean_lines), 0),
            ).where(*where)
        ).one()
        by_kind: Counter[str] = Counter()
        by_payer: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for (value,) in self.session.execute(select(r.findings).where(*where)):
            summary = FindingSummary.from_dict(value)
            by_kind.update(summary.by_kind)
            for payer_id, kinds in summary.by_payer.items():
                by_payer[payer_id].update(kinds)
        findings = FindingSummary(dict(by_kind), {p: dict(k) for p, k in by_payer.items()})
        return ScrubTotals(int(scrubs), int(lines), int(clean), findings)

    def get(self, organization_id: str, scrub_id: str) -> KeptScrub:
        record = self.session.scalars(
            select(ClaimScrubRecord).where(
                ClaimScrubRecord.id == scrub_id,
                ClaimScrubRecord.organization_id == organization_id,
            )
        ).first()
        if record is None:
            # The same answer whether it does not exist or belongs to another organization.
            message = f"No claim scrub {scrub_id} in your organization; check the id."
            raise NotFound(message, [Issue("not-found", message, "id")])
        org = record.organization_id
        result = json.loads(self._open(record.result, "result", org))
        corrected = None
        if record.corrected is not None:
            corrected = self._open(record.corrected, "corrected", org)
        return KeptScrub(self._summary(record), result, corrected)

    def _summary(self, record: ClaimScrubRecord) -> ClaimScrub:
        return ClaimScrub(
            id=record.id,
            organization_id=record.organization_id,
            filename=self._open(record.filename, "filename", record.organization_id),
            sha256=record.sha256,
            scrubbed_at=record.scrubbed_at,
            actor=record.actor,
            counts=ScrubCounts(
                claims=record.claims,
                lines=record.lines,
                clean_lines=record.clean_lines,
                errors=record.errors,
                warnings=record.warnings,
                fixable=record.fixable,
                unreadable=record.unreadable,
            ),
            has_corrected=record.corrected is not None,
            findings=FindingSummary.from_dict(record.findings),
        )

    def _seal(self, text: str, column: str, organization_id: str) -> str:
        return self._cipher.encrypt(text, context=_context(column, organization_id))

    def _open(self, token: str, column: str, organization_id: str) -> str:
        return self._cipher.decrypt(token, context=_context(column, organization_id))


def _context(column: str, organization_id: str) -> str:
    return f"{CLAIM_SCRUBS_TABLE}.{column}:{organization_id}"
