"""Recovery work from 835 remittances: import a file (`import_remittance`), turn each
authorization denial into a recovery item by its cause, list the items (`recovery_page`), close
them (`mark`) and draw the letter a payer receives (`appeal_letter`).

The action for a denial:
- authorization absent, while an approved authorization covers the member, payer, code and date
  -> corrected_claim (add the number; deadline: the payer's timely filing from the service date);
- authorization absent, none on file, and the service was urgent (place of service 23, revenue
  045x, or a linked request that is retro or expedited) inside the payer's retro window
  -> retro_authorization (deadline: the end of that window);
- refused (CARC 39), exceeded or mismatched, and an authorization covers the service -> appeal
  (deadline: the remittance's payment date, else its production date, else the day it was
  received, plus the payer's appeal days); a covering authorization whose number is not the one
  the claim carried -> corrected_claim (the number was wrong);
- anything else -> review (same deadline as an appeal: the outer bound to act).
Deadlines come from the payer pack's `recovery:` terms (domain.rules.recovery_terms).

Importing the same file again (same sha256) creates nothing and returns what the first import
made. Member ids are used to find authorizations and never stored with the items, put in a
message or logged. Every import, view, change and letter is audited; a viewer may read only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from precert.channels.x12.tx835 import Remittances835, read_remittances
from precert.channels.x12.tx835_view import code_descriptions, remittance_view
from precert.domain.authorizations import Urgency
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus
from precert.domain.remittances import (
    ZERO,
    AdjustmentGroup,
    DenialCause,
    RemitClaim,
    RemitLine,
    Remittance,
    classify,
    classify_line,
)
from precert.domain.requirements import RuleBook
from precert.domain.rules import PayerPack, RecoveryTerms, recovery_terms
from precert.errors import InvalidInput, Issue, PermissionDenied
from precert.reports.appeal_letter import AppealLetter, Coded, render_appeal_letter
from precert.security.blind_index import normalise_member_id
from precert.security.crypto import FieldCipher
from precert.services.audit import record
from precert.services.authorization_records import records_for
from precert.services.authorization_requests import request_repository
from precert.services.context import Context
from precert.store.accounts import OrganizationRepository
from precert.store.documents import DocumentRepository
from precert.store.recovery import RecoveryItem, RecoveryRepository, RemittanceFile
from precert.store.uow import UnitOfWork

ENTITY = "recovery_item"
FILE_ENTITY = "remittance_file"
ACTIONS = ("corrected_claim", "retro_authorization", "appeal", "review")
STATUSES = ("open", "done", "dismissed")
_GRANTS = (AuthorizationStatus.APPROVED, AuthorizationStatus.PARTIALLY_APPROVED)
_READ_ONLY_ROLES = frozenset({"viewer"})
EMERGENCY_POS = "23"  # CMS place of service: emergency room, hospital
EMERGENCY_REVENUE = "045"  # UB-04 revenue codes 0450-0459: emergency room


class Actor(Protocol):
    """Who acts: services.accounts.Actor, or the CLI's OrganizationActor (no role: the host's
    administrator)."""

    @property
    def organization_id(self) -> str: ...
    @property
    def email(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ImportedRemit:
    """What an import did: the file, whether it had been imported before, what was read (with
    its located errors and warnings) and the recovery items the file made."""

    file: RemittanceFile
    already_imported: bool
    read: Remittances835
    items: list[RecoveryItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        texts = code_descriptions()
        return {
            "file": file_view(self.file),
            "already_imported": self.already_imported,
            "remittances": [remittance_view(r, descriptions=texts) for r in self.read.remittances],
            "errors": [issue.as_dict() for issue in self.read.errors],
            "warnings": [issue.as_dict() for issue in self.read.warnings],
            "recovery_items": [item_view(item) for item in self.items],
        }


# -- import ------------------------------------------------------------------------------------


def import_remittance(ctx: Context, actor: Actor, text: str, filename: str) -> ImportedRemit:
    """Read an 835 and create the recovery items of its authorization denials (once per file).
    `filename` is only for messages; it is not stored (it may name a patient)."""
    require_changer(actor, "import remittances")
    org = actor.organization_id
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    read = read_remittances(text)
    if not read.remittances:
        first = read.errors[0].message if read.errors else "it holds no 835 transaction set"
        message = f"{_base(filename)}: no 835 remittance could be read: {first}"
        raise InvalidInput(message, [Issue("invalid", message, "file"), *read.errors])
    with ctx.uow() as uow:
        repo = RecoveryRepository(uow.session)
        earlier = repo.file_by_sha(org, sha)
        if earlier is not None:
            items = repo.items(org, file_id=earlier.id)
            _audit(uow, actor, "import", FILE_ENTITY, earlier.id, ctx.now(), reason="again")
            uow.commit()
            return ImportedRemit(earlier, True, read, items)
    try:
        return _create(ctx, actor, read, sha)
    except IntegrityError:  # the same file imported at the same moment by another process
        return import_remittance(ctx, actor, text, filename)


def _create(ctx: Context, actor: Actor, read: Remittances835, sha: str) -> ImportedRemit:
    org = actor.organization_id
    now = ctx.now()
    book = ctx.rulebook()
    file_id = str(uuid.uuid4())
    planned = [(r, payer_pack(book, r)) for r in read.remittances]
    found = _Found.load(ctx, org, planned)
    items: list[RecoveryItem] = []
    for remittance, pack in planned:
        paid_on = remittance.payment_date or remittance.production_date or ctx.today()
        terms = recovery_terms(pack)
        payer = pack.id if pack is not None else remittance.payer_id
        for claim in remittance.claims:
            for draft in _drafts(claim):
                candidates = found.for_claim(claim, (payer, remittance.payer_id))
                decided = decide(draft, candidates, terms, paid_on, ctx.today())
                items.append(_item(org, file_id, payer, claim, draft, decided, found, now))
    first, first_pack = planned[0]
    claims = [c for r in read.remittances for c in r.claims]
    causes = [classify(c) for c in claims]
    remittance_file = RemittanceFile(
        id=file_id,
        organization_id=org,
        sha256=sha,
        received_at=now,
        payer_id=first_pack.id if first_pack is not None else first.payer_id,
        payer_name=first_pack.name if first_pack is not None else first.payer_name,
        x12_payer_id=first.payer_id,
        payment_date=first.payment_date or first.production_date,
        claims=len(claims),
        denied=sum(c != DenialCause.PAID for c in causes),
        authorization_related=sum(c.value.startswith("authorization_") for c in causes),
        items=len(items),
        charged=sum((c.charge for c in claims), ZERO),
        paid=sum((c.paid for c in claims), ZERO),
    )
    with ctx.uow() as uow:
        repo = RecoveryRepository(uow.session)
        repo.add_file(remittance_file)
        repo.add_items(items)
        _audit(uow, actor, "import", FILE_ENTITY, file_id, now, reason=f"{len(items)} item(s)")
        uow.commit()
    return ImportedRemit(remittance_file, False, read, items)


def payer_pack(book: RuleBook, remittance: Remittance) -> PayerPack | None:
    """The pack of the 835's payer: by its X12 payer id (the packs' x12_payer_ids), its pack
    id, else its name (N1*PR) matching the pack's name; None when no pack is configured."""
    key = remittance.payer_id.strip()
    for pack in book.packs:
        if key and (key in pack.x12_payer_ids or key.lower() == pack.id):
            return pack
    name = _name_key(remittance.payer_name)
    for pack in book.packs:
        if name and name == _name_key(pack.name):
            return pack
    return None


def _name_key(text: str) -> str:
    text = re.sub(r"\(.*?\)", " ", text.lower())
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in ("plan", "the", "inc")]
    return " ".join(words)


# -- the decision (pure) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """One authorization denial on a remittance: a line (`line_number` 1-based) or a claim."""

    cause: DenialCause
    line_number: int | None
    code: str
    modifiers: tuple[str, ...]
    service_date: dt.date | None
    amount: Decimal
    carcs: tuple[str, ...]
    rarcs: tuple[str, ...]
    numbers: tuple[str, ...]  # REF*G1/BB on the line, else on the claim
    emergency: tuple[str, ...]  # why the service counts as urgent, from the remittance itself


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the evidence needs of a linked request: no patient data."""

    request_id: str
    urgent: bool
    timeline: tuple[tuple[dt.datetime, str], ...]
    documents: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Decided:
    action: str
    deadline: dt.date | None
    reason: str
    record: AuthorizationRecord | None  # the authorization the item is about, if any
    number_to_add: str = ""


def _drafts(claim: RemitClaim) -> list[Draft]:
    """The claim's authorization denials: one per denied line, else one for the claim."""
    cause = classify(claim)
    if not cause.value.startswith("authorization_"):
        return []
    drafts = []
    for number, line in enumerate(claim.lines, 1):
        line_cause = classify_line(line, claim)
        if line_cause.value.startswith("authorization_"):
            drafts.append(_line_draft(claim, line, number, line_cause))
    if drafts:
        return drafts
    adjustments = claim.adjustments
    return [
        Draft(
            cause=cause,
            line_number=None,
            code=claim.lines[0].code if claim.lines else "",
            modifiers=(),
            service_date=claim.from_date,
            amount=_denied(adjustments, claim.charge - claim.paid - claim.patient_responsibility),
            carcs=tuple(dict.fromkeys(a.reason for a in adjustments if a.amount != ZERO)),
            rarcs=claim.remarks,
            numbers=claim.authorization_numbers,
            emergency=_emergency(claim, None),
        )
    ]


def _line_draft(claim: RemitClaim, line: RemitLine, number: int, cause: DenialCause) -> Draft:
    adjustments = (*line.adjustments, *claim.adjustments)
    return Draft(
        cause=cause,
        line_number=number,
        code=line.code,
        modifiers=line.modifiers,
        service_date=line.from_date or claim.from_date,
        amount=_denied(line.adjustments, line.charge - line.paid),
        carcs=tuple(dict.fromkeys(a.reason for a in adjustments if a.amount != ZERO)),
        rarcs=tuple(dict.fromkeys((*line.remarks, *claim.remarks))),
        numbers=line.authorization_numbers or claim.authorization_numbers,
        emergency=_emergency(claim, line),
    )


def _denied(adjustments: Iterable[Any], otherwise: Decimal) -> Decimal:
    """What the payer kept back: the adjustments not moved to the patient, else charge - paid."""
    total = sum((a.amount for a in adjustments if a.group != AdjustmentGroup.PR), ZERO)
    return total if total != ZERO else max(otherwise, ZERO)


def _emergency(claim: RemitClaim, line: RemitLine | None) -> tuple[str, ...]:
    signals = []
    if claim.facility_code == EMERGENCY_POS:
        signals.append("place of service 23 (emergency room)")
    revenue = (
        "" if line is None else (line.revenue_code or (line.code if line.qualifier == "NU" else ""))
    )
    if revenue.lstrip("0").startswith(EMERGENCY_REVENUE.lstrip("0")) and len(revenue) >= 3:
        signals.append(f"revenue code {revenue} (emergency room)")
    return tuple(signals)


def decide(
    draft: Draft,
    candidates: Sequence[tuple[AuthorizationRecord, RequestFacts | None]],
    terms: RecoveryTerms,
    paid_on: dt.date,
    today: dt.date,
) -> Decided:
    """The recovery action and its deadline for one denial, given the member's authorizations
    with this payer (and the facts of their requests)."""
    appeal_by = paid_on + dt.timedelta(days=terms.appeal_days)
    covering = _covering(candidates, draft)
    if draft.cause == DenialCause.AUTHORIZATION_ABSENT:
        if covering is not None:
            return _corrected(draft, covering, terms, "was missing on the claim")
        related = _related(candidates, draft)
        urgent = draft.emergency or (
            related is not None and related[1] is not None and related[1].urgent
        )
        if urgent and draft.service_date is not None and terms.retro_authorization_days > 0:
            window_end = draft.service_date + dt.timedelta(days=terms.retro_authorization_days)
            if today <= window_end:
                reason = "No authorization is on file and the service was urgent: ask the payer "
                reason += f"for a retro-authorization by {window_end.isoformat()}."
                return Decided(
                    "retro_authorization", window_end, reason, related[0] if related else None
                )
        reason = "No authorization is on file for this service: review whether one was needed "
        reason += "and appeal or write off."
        return Decided("review", appeal_by, reason, related[0] if related else None)
    if covering is not None:
        if draft.numbers and covering.number not in draft.numbers:
            return _corrected(draft, covering, terms, "on the claim was not the right one")
        reason = f"Authorization {covering.number} covers {draft.code} on "
        reason += f"{_day(draft.service_date)}: appeal with the authorization and its timeline."
        return Decided("appeal", appeal_by, reason, covering)
    related = _related(candidates, draft)
    reason = "No approved authorization on file covers this service: review the denial."
    return Decided("review", appeal_by, reason, related[0] if related else None)


def _corrected(
    draft: Draft, covering: AuthorizationRecord, terms: RecoveryTerms, what: str
) -> Decided:
    start = draft.service_date
    deadline = None if start is None else start + dt.timedelta(days=terms.corrected_claim_days)
    reason = f"Authorization {covering.number} covers {draft.code} on {_day(start)} but the number "
    reason += f"{what}: send a corrected claim with REF*G1 {covering.number}."
    return Decided("corrected_claim", deadline, reason, covering, number_to_add=covering.number)


def _covering(
    candidates: Sequence[tuple[AuthorizationRecord, RequestFacts | None]], draft: Draft
) -> AuthorizationRecord | None:
    """An approved authorization whose codes and window cover the service (one the claim
    carried first)."""
    found = [
        rec
        for rec, _ in candidates
        if rec.status in _GRANTS
        and rec.number
        and draft.code in rec.codes
        and _in_window(rec, draft.service_date)
    ]
    found.sort(key=lambda rec: rec.number not in draft.numbers)
    return found[0] if found else None


def _related(
    candidates: Sequence[tuple[AuthorizationRecord, RequestFacts | None]], draft: Draft
) -> tuple[AuthorizationRecord, RequestFacts | None] | None:
    """The authorization the denial is about when none covers it: the number the claim carried,
    else one asked for this code around this date (any status)."""
    for pair in candidates:
        if pair[0].number and pair[0].number in draft.numbers:
            return pair
    for pair in candidates:
        rec = pair[0]
        if draft.code in rec.codes | rec.denied_codes and _in_window(rec, draft.service_date):
            return pair
    return None


def _in_window(rec: AuthorizationRecord, day: dt.date | None) -> bool:
    if day is None:
        return False
    return (rec.valid_from is None or rec.valid_from <= day) and (
        rec.valid_to is None or day <= rec.valid_to
    )


# -- loading what the decision needs -----------------------------------------------------------


@dataclass
class _Found:
    """The authorizations of the file's members (by normalised member id) and the facts of the
    requests behind them, loaded once per import."""

    by_member: dict[str, list[AuthorizationRecord]]
    requests: dict[str, RequestFacts]

    @classmethod
    def load(
        cls, ctx: Context, org: str, planned: Sequence[tuple[Remittance, PayerPack | None]]
    ) -> _Found:
        members = {
            c.member_id
            for r, _ in planned
            for c in r.claims
            if c.member_id and classify(c).value.startswith("authorization_")
        }
        by_member: dict[str, list[AuthorizationRecord]] = {}
        if members:
            for rec in records_for(ctx, org, member_ids=sorted(members)):
                by_member.setdefault(normalise_member_id(rec.member_id), []).append(rec)
        ids = sorted(
            {rec.request_id for recs in by_member.values() for rec in recs if rec.request_id}
        )
        return cls(by_member, _request_facts(ctx, org, ids))

    def for_claim(
        self, claim: RemitClaim, payers: Iterable[str]
    ) -> list[tuple[AuthorizationRecord, RequestFacts | None]]:
        """The member's authorizations with this payer (its pack id, or the X12 id an imported
        record may carry), and any whose number the claim carried whoever it names."""
        records = self.by_member.get(normalise_member_id(claim.member_id), [])
        wanted = set(payers)
        carried = {
            *claim.authorization_numbers,
            *(n for ln in claim.lines for n in ln.authorization_numbers),
        }
        return [
            (rec, self.requests.get(rec.request_id or ""))
            for rec in records
            if rec.payer_id in wanted or (rec.number and rec.number in carried)
        ]


def _request_facts(ctx: Context, org: str, ids: Sequence[str]) -> dict[str, RequestFacts]:
    if not ids:
        return {}
    out: dict[str, RequestFacts] = {}
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        documents = DocumentRepository(uow.session, FieldCipher.from_settings(ctx.settings))
        for request_id in ids:
            request = repo.get(org, request_id)
            out[request_id] = RequestFacts(
                request_id=request_id,
                urgent=request.retro or request.urgency == Urgency.EXPEDITED,
                timeline=tuple((e.at, e.kind) for e in repo.timeline(org, request_id)),
                documents=tuple((d.id, d.kind) for d in documents.of_request(org, request_id)),
            )
    return out


def _item(
    org: str,
    file_id: str,
    payer: str,
    claim: RemitClaim,
    draft: Draft,
    decided: Decided,
    found: _Found,
    now: dt.datetime,
) -> RecoveryItem:
    rec = decided.record
    facts = found.requests.get(rec.request_id or "") if rec is not None else None
    return RecoveryItem(
        id=str(uuid.uuid4()),
        organization_id=org,
        file_id=file_id,
        payer_id=payer,
        claim_id=claim.claim_id,
        payer_claim_number=claim.payer_claim_number,
        line_number=draft.line_number,
        code=draft.code,
        service_date=draft.service_date,
        cause=draft.cause.value,
        action=decided.action,
        amount=draft.amount,
        carcs=draft.carcs,
        rarcs=draft.rarcs,
        deadline=decided.deadline,
        status="open",
        created_at=now,
        authorization_number=(rec.number or None) if rec is not None else None,
        request_id=rec.request_id if rec is not None else None,
        evidence=evidence(draft, decided, facts),
    )


def evidence(draft: Draft, decided: Decided, facts: RequestFacts | None) -> dict[str, Any]:
    """The evidence kept with an item (JSON, no PHI): why, the codes, the authorization, the
    request's timeline (kinds and dates) and its documents (ids and kinds)."""
    rec = decided.record
    out: dict[str, Any] = {
        "reason": decided.reason,
        "code": draft.code,
        "modifiers": list(draft.modifiers),
        "carcs": list(draft.carcs),
        "rarcs": list(draft.rarcs),
        "numbers_on_claim": list(draft.numbers),
        "emergency": list(draft.emergency),
        "authorization": None,
        "request_id": None,
        "timeline": [],
        "documents": [],
    }
    if decided.number_to_add:
        out["number_to_add"] = decided.number_to_add
    if rec is not None:
        out["authorization"] = {
            "number": rec.number,
            "status": rec.status.value,
            "codes": sorted(rec.codes),
            "valid_from": _iso(rec.valid_from),
            "valid_to": _iso(rec.valid_to),
            "source": rec.source,
        }
    if facts is not None:
        out["request_id"] = facts.request_id
        out["urgent_request"] = facts.urgent
        out["timeline"] = [{"kind": kind, "at": at.isoformat()} for at, kind in facts.timeline]
        out["documents"] = [{"id": doc_id, "kind": kind} for doc_id, kind in facts.documents]
    return out


# -- reading and changing items ----------------------------------------------------------------


def recovery_page(ctx: Context, actor: Actor, status: str | None = "open") -> list[RecoveryItem]:
    """The organization's items with `status` (None: all), soonest deadline first."""
    if status is not None and status not in STATUSES:
        message = f"status: {status!r} is not one of {', '.join(STATUSES)}."
        raise InvalidInput.field("status", message)
    with ctx.uow() as uow:
        items = RecoveryRepository(uow.session).items(actor.organization_id, status=status)
        _audit(uow, actor, "view", ENTITY, actor.organization_id, ctx.now(), reason=status)
        uow.commit()
    return items


def get_item(ctx: Context, actor: Actor, item_id: str) -> RecoveryItem:
    with ctx.uow() as uow:
        item = RecoveryRepository(uow.session).get(actor.organization_id, item_id)
        _audit(uow, actor, "view", ENTITY, item_id, ctx.now())
        uow.commit()
    return item


def mark(ctx: Context, actor: Actor, item_id: str, status: str, note: str = "") -> RecoveryItem:
    """Set an item's status (done: recovered; dismissed: not worth recovering; open again)."""
    require_changer(actor, "change recovery items")
    if status not in STATUSES:
        message = f"status: {status!r} is not one of {', '.join(STATUSES)}."
        raise InvalidInput.field("status", message)
    now = ctx.now()
    with ctx.uow() as uow:
        item = RecoveryRepository(uow.session).set_status(
            actor.organization_id, item_id, status, note.strip()[:2000], now
        )
        _audit(uow, actor, "mark", ENTITY, item_id, now, reason=status)
        uow.commit()
    return item


def require_changer(actor: Actor, action: str) -> None:
    role = getattr(actor, "role", None)
    name = getattr(role, "value", role)
    if name in _READ_ONLY_ROLES:
        message = f"viewers cannot {action}; ask an admin, a specialist or a biller"
        raise PermissionDenied(message, [Issue("forbidden", message, "role")])


# -- the letter --------------------------------------------------------------------------------


def appeal_letter(ctx: Context, actor: Actor, item_id: str) -> bytes:
    """The letter for one item as a PDF (it names the patient: the payer needs it). Audited."""
    org = actor.organization_id
    now = ctx.now()
    with ctx.uow() as uow:
        repo = RecoveryRepository(uow.session)
        item = repo.get(org, item_id)
        files = {f.id: f for f in repo.files(org)}
        organization = OrganizationRepository(uow.session).get(org)
        patient = _patient(ctx, uow, org, item.request_id)
        _audit(uow, actor, "appeal_letter", ENTITY, item_id, now)
        uow.commit()
    remittance_file = files[item.file_id]
    book = ctx.rulebook()
    payer_name = (
        book.pack(item.payer_id).name if item.payer_id in book else remittance_file.payer_name
    )
    return render_appeal_letter(
        letter_of(
            item,
            today=ctx.today(),
            organization=organization.name if organization is not None else org,
            payer_name=payer_name,
            payment_date=remittance_file.payment_date,
            patient=patient,
        )
    )


def letter_of(
    item: RecoveryItem,
    *,
    today: dt.date,
    organization: str,
    payer_name: str,
    payment_date: dt.date | None,
    patient: Mapping[str, Any],
) -> AppealLetter:
    texts = code_descriptions()
    ev = item.evidence
    auth = ev.get("authorization") or {}
    return AppealLetter(
        today=today,
        organization=organization,
        payer_name=payer_name,
        payer_id=item.payer_id,
        claim_id=item.claim_id,
        payer_claim_number=item.payer_claim_number,
        action=item.action,
        cause=item.cause,
        codes=tuple(c for c in [item.code] if c),
        amount=item.amount,
        carcs=tuple(Coded(c, texts.get(c, "")) for c in item.carcs),
        rarcs=tuple(Coded(c, texts.get(c, "")) for c in item.rarcs),
        service_date=item.service_date,
        payment_date=payment_date,
        deadline=item.deadline,
        patient_name=str(patient.get("name", "")),
        member_id=str(patient.get("member_id", "")),
        birth_date=patient.get("birth_date"),
        authorization_number=str(auth.get("number") or ""),
        authorization_status=str(auth.get("status") or ""),
        valid_from=_date(auth.get("valid_from")),
        valid_to=_date(auth.get("valid_to")),
        authorized_codes=tuple(auth.get("codes") or ()),
        request_id=item.request_id or "",
        timeline=tuple(
            (dt.datetime.fromisoformat(e["at"]), str(e["kind"])) for e in ev.get("timeline", [])
        ),
        documents=tuple((str(d["id"]), str(d["kind"])) for d in ev.get("documents", [])),
        urgent=bool(ev.get("emergency")) or bool(ev.get("urgent_request")),
    )


def _patient(ctx: Context, uow: UnitOfWork, org: str, request_id: str | None) -> dict[str, Any]:
    """The patient as the linked request knows them (PHI for the letter only), else nothing."""
    if request_id is None:
        return {}
    request = request_repository(ctx, uow).get(org, request_id)
    patient = request.patient
    return {
        "name": f"{patient.first_name} {patient.last_name}",
        "member_id": request.coverage.member_id or patient.member_id,
        "birth_date": patient.birth_date,
    }


# -- views -------------------------------------------------------------------------------------


def file_view(remittance_file: RemittanceFile) -> dict[str, Any]:
    return {
        "id": remittance_file.id,
        "sha256": remittance_file.sha256,
        "received_at": remittance_file.received_at.isoformat(),
        "payer_id": remittance_file.payer_id,
        "payer_name": remittance_file.payer_name,
        "x12_payer_id": remittance_file.x12_payer_id,
        "payment_date": _iso(remittance_file.payment_date),
        "claims": remittance_file.claims,
        "denied": remittance_file.denied,
        "authorization_related": remittance_file.authorization_related,
        "recovery_items": remittance_file.items,
        "charged": str(remittance_file.charged),
        "paid": str(remittance_file.paid),
    }


def item_view(item: RecoveryItem) -> dict[str, Any]:
    """An item as JSON (amounts exact strings, dates ISO, no PHI)."""
    return {
        "id": item.id,
        "file_id": item.file_id,
        "payer_id": item.payer_id,
        "claim_id": item.claim_id,
        "payer_claim_number": item.payer_claim_number,
        "line": item.line_number,
        "code": item.code,
        "service_date": _iso(item.service_date),
        "cause": item.cause,
        "action": item.action,
        "amount": str(item.amount),
        "carcs": list(item.carcs),
        "rarcs": list(item.rarcs),
        "deadline": _iso(item.deadline),
        "status": item.status,
        "authorization_number": item.authorization_number,
        "request_id": item.request_id,
        "evidence": item.evidence,
        "note": item.note,
        "letter": f"/api/v1/recovery/{item.id}/appeal-letter.pdf",
    }


def _audit(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str,
    at: dt.datetime,
    *,
    reason: str | None = None,
) -> None:
    record(
        uow,
        actor=actor.email,
        action=action,
        entity=entity,
        entity_id=entity_id,
        organization_id=actor.organization_id,
        reason=reason,
        at=at,
    )


def _base(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1][:80] or "the file"


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: dt.date | None) -> str:
    return "an unknown date" if value is None else value.isoformat()


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
