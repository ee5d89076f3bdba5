"""Scrubbing an 837 before it goes out: every claim line checked against the requirement on its
date and the organization's authorizations (from its requests, imported ones, and an optional
file given with the scrub), the units billed remembered across files, and a corrected 837 where
the only problem is a missing authorization number.

What belongs here: mapping a claim's X12 payer id to a payer pack, loading authorizations and
earlier usage in bulk, the requirement callable (cached per payer, code, date and place), the
summary, the fixes, and persisting what the next scrub needs. The checks themselves are
domain/claim_check.py; reading and correcting 837s is channels/x12/tx837*.py.

Kept scrubs (the web's Claims pages and /api/v1/claims): `keep` stores a report with its counts,
the result JSON and the corrected 837 (sealed: they hold member ids), `scrubs_page` lists them
and `scrub_detail` opens one; see store/claim_scrubs.py. Who may scrub or view is the entry
point's call (the CLI's actor has no role).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.orm import Session

from precert.channels.x12.tx837 import ClaimError, read_claims
from precert.channels.x12.tx837_fix import insert_authorization_numbers
from precert.domain.claim_check import UnitsLedger, check_claims
from precert.domain.claims import (
    AuthorizationRecord,
    Claim,
    ClaimLine,
    ClaimResult,
    Finding,
    FindingKind,
    Setting,
    Severity,
)
from precert.domain.requirements import RuleBook, Service
from precert.domain.rules import Decision
from precert.errors import InvalidInput
from precert.security.crypto import FieldCipher
from precert.services import authorization_records
from precert.services.audit import record
from precert.services.context import Context
from precert.store.authorization_records import UsageRow
from precert.store.claim_scrubs import (
    ClaimScrub,
    ClaimScrubRepository,
    FindingSummary,
    ScrubCounts,
)

Progress = Callable[[int, int], None]  # (claims done, claims in all)


class Scrubber(Protocol):
    """Who scrubs: an organization and a name for the audit (a user, or the CLI)."""

    @property
    def organization_id(self) -> str: ...

    @property
    def email(self) -> str: ...


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass
class ScrubReport:
    """One scrubbed file: its claims' results, the claims that could not be read, the fixes
    that can be made without a person (claim id, line number or None -> number) and, when asked,
    the corrected 837."""

    results: list[ClaimResult]
    errors: list[ClaimError]
    fixes: dict[tuple[str, int | None], str] = field(default_factory=dict)
    corrected: str | None = None
    payers: dict[str, str] = field(default_factory=dict)  # X12 payer id -> our payer id
    _counted: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def clean(self) -> bool:
        return not self.errors and all(result.clean for result in self.results)

    def summary(self) -> dict[str, Any]:
        counts = self._counts()
        return {**counts, "fixable": len(self.fixes)}

    def _counts(self) -> dict[str, Any]:
        # Counted once: a 200,000-line report is summarised for the audit, the JSON and the page.
        if self._counted is not None:
            return self._counted
        kinds: Counter[str] = Counter()
        severities: Counter[str] = Counter()
        lines = clean_lines = 0
        for result in self.results:
            for line in result.lines:
                lines += 1
                clean_lines += line.clean
                for finding in line.findings:
                    kinds[finding.kind.value] += 1
                    severities[finding.severity.value] += 1
        self._counted = {
            "claims": len(self.results),
            "claims_with_findings": sum(1 for r in self.results if not r.clean),
            "unreadable_claims": len(self.errors),
            "lines": lines,
            "clean_lines": clean_lines,
            "findings": dict(sorted(kinds.items())),
            "severities": {s.value: severities.get(s.value, 0) for s in Severity},
        }
        return self._counted


def scrub(
    ctx: Context,
    actor: Scrubber,
    text: str,
    *,
    payer_id: str | None = None,
    extra: Sequence[AuthorizationRecord] = (),
    fix: bool = False,
    remember_usage: bool = True,
    progress: Progress | None = None,
) -> ScrubReport:
    """Scrub the 837 `text` for the actor's organization. `payer_id` names the payer for the
    whole file (else each claim's X12 payer id is looked up in the packs' x12_payer_ids);
    `extra` are authorizations given with this scrub only. `fix` also writes the corrected 837.
    `remember_usage` stores the units this file bills so the next file counts them."""
    read = read_claims(text)
    book = ctx.rulebook()
    payers = _payer_map(book, read.claims, payer_id)
    claims = [_with_payer(claim, payers) for claim in read.claims]
    organization = actor.organization_id
    records = authorization_records.records_for(
        ctx,
        organization,
        payer_ids=sorted({claim.payer_id for claim in claims}),
        member_ids=sorted({claim.member_id for claim in claims}),
    )
    records = [*records, *extra]
    numbers = sorted({r.number for r in records})
    file_id = hashlib.sha256(text.encode()).hexdigest()
    lines = {(claim.claim_id, line.number) for claim in claims for line in claim.lines}
    before = authorization_records.usage_before(
        ctx, organization, numbers, excluding_file=file_id, excluding_lines=lines
    )
    ledger = UnitsLedger(before)
    results: list[ClaimResult] = []
    total = len(claims)
    checked = check_claims(
        claims,
        requirement=_requirement(book),
        authorizations=records,
        ledger=ledger,
        today=ctx.today(),
    )
    # The claims and records just loaded live until the end: frozen, the collector's full
    # passes skip them (half the check's time on a 200,000-line file went to those passes).
    gc.freeze()
    try:
        for n, result in enumerate(checked, start=1):
            results.append(result)
            if progress is not None and (n % 500 == 0 or n == total):
                progress(n, total)
    finally:
        gc.unfreeze()
    report = ScrubReport(results, read.errors, _fixes(results), payers=payers)
    # A claim id used twice in the file cannot be corrected by id: leave those to a person.
    seen = Counter(claim.claim_id for claim in claims)
    report.fixes = {key: n for key, n in report.fixes.items() if seen[key[0]] == 1}
    if fix and report.fixes:
        report.corrected = insert_authorization_numbers(text, report.fixes)
    if remember_usage:
        authorization_records.record_usage(ctx, organization, _usage_rows(ledger, file_id))
    with ctx.uow() as uow:
        record(
            uow,
            actor=actor.email,
            action="view",
            entity="claims",
            entity_id="scrub",
            organization_id=organization,
            reason=f"scrubbed {len(results)} claims ({report.summary()['lines']} lines)",
            at=ctx.now(),
        )
        uow.commit()
    return report


def _payer_map(book: RuleBook, claims: Iterable[Claim], named: str | None) -> dict[str, str]:
    """X12 payer id -> our payer id: `named` for every claim, else the pack listing the id in
    its x12_payer_ids, else a pack whose id is the X12 id itself; unknown ids map to themselves
    (their requirement is `unknown`: verify with the payer)."""
    if named is not None and named not in book:
        known = ", ".join(book.payer_ids)
        raise InvalidInput.field("payer", f"payer: {named!r} is not a payer; use one of {known}.")
    by_x12: dict[str, str] = {}
    for pack in book.packs:
        for x12_id in pack.x12_payer_ids:
            by_x12.setdefault(x12_id.upper(), pack.id)
    mapped = {}
    for claim in claims:
        x12_id = claim.payer_id
        if x12_id in mapped:
            continue
        mapped[x12_id] = named or by_x12.get(x12_id.upper()) or x12_id
    return mapped


def _with_payer(claim: Claim, payers: Mapping[str, str]) -> Claim:
    ours = payers.get(claim.payer_id, claim.payer_id)
    return claim if ours == claim.payer_id else replace(claim, payer_id=ours)


def _requirement(book: RuleBook) -> Callable[[Claim, ClaimLine], Decision]:
    """The requirement engine as the check wants it, cached: a file repeats the same payer,
    code, date and place of service many times."""
    cache: dict[tuple[str, str, dt.date, str, Setting], Decision] = {}

    def requirement(claim: Claim, line: ClaimLine) -> Decision:
        pos = line.pos or claim.facility_code
        key = (claim.payer_id, line.code, line.from_date, pos, claim.setting)
        found = cache.get(key)
        if found is None:
            if claim.payer_id not in book:
                found = Decision.UNKNOWN
            else:
                service = Service(
                    payer_id=claim.payer_id,
                    code=line.code,
                    date=line.from_date,
                    pos=pos or None,
                    setting=claim.setting.value,
                    units=line.units,
                    diagnoses=line.diagnoses or claim.diagnoses,
                )
                found = book.requirement_for(service).decision
            cache[key] = found
        return found

    return requirement


def _fixes(results: Iterable[ClaimResult]) -> dict[tuple[str, int | None], str]:
    """Lines whose only problem is the missing number: line-level REF*G1, or one claim-level
    REF*G1 when every line of the claim needs the same number."""
    fixes: dict[tuple[str, int | None], str] = {}
    for result in results:
        wanted: dict[int, str] = {}
        others = False
        for line in result.lines:
            problems = [f for f in line.findings if f.severity is not Severity.INFO]
            if len(problems) == 1 and problems[0].kind is FindingKind.NUMBER_MISSING_ON_CLAIM:
                wanted[line.line.number] = problems[0].authorization_number
            elif problems:
                others = True
        if not wanted:
            continue
        numbers = set(wanted.values())
        claim_id = result.claim.claim_id
        if len(numbers) == 1 and len(wanted) == len(result.lines) and not others:
            fixes[(claim_id, None)] = numbers.pop()
        elif result.claim.kind.value == "professional":
            for number_of_line, number in wanted.items():
                fixes[(claim_id, number_of_line)] = number
    return fixes


def _usage_rows(ledger: UnitsLedger, file_id: str) -> list[UsageRow]:
    """What each line of this file consumed (the ledger's own account), per claim line and
    tagged with the file, so scrubbing the same file again replaces rather than adds."""
    return [
        UsageRow(number, code, claim_id, line, units, file_id)
        for (claim_id, line), ((number, code), units) in ledger.line_takes().items()
    ]


def result_json(report: ScrubReport) -> dict[str, Any]:
    """The interface JSON: claims with their lines and findings, the unreadable claims, the
    summary (see the issue: `precert claims scrub --json` and POST /api/v1/claims/scrub).

    Built for 200,000 lines: a finding shared by many lines (a record's "ok") is turned into a
    dict once, and each date is formatted once."""
    finding_dicts: dict[int, dict[str, Any]] = {}
    dates: dict[dt.date, str] = {}

    def finding(f: Finding) -> dict[str, Any]:
        found = finding_dicts.get(id(f))
        if found is None:
            found = finding_dicts[id(f)] = f.as_dict()
        return found

    def day(value: dt.date) -> str:
        found = dates.get(value)
        if found is None:
            found = dates[value] = value.isoformat()
        return found

    claims = []
    for result in report.results:
        claim = result.claim
        claims.append(
            {
                "claim_id": claim.claim_id,
                "member_id": claim.member_id,
                "payer_id": claim.payer_id,
                "lines": [
                    {
                        "line": line.line.number,
                        "code": line.line.code,
                        "date": day(line.line.from_date),
                        "units": line.line.units,
                        "findings": [finding(f) for f in line.findings],
                    }
                    for line in result.lines
                ],
            }
        )
    return {
        "claims": claims,
        "errors": [
            {"claim_id": error.claim_id, "issues": [issue.as_dict() for issue in error.issues]}
            for error in report.errors
        ],
        "fixes": [
            {"claim_id": claim_id, "line": line, "authorization_number": number}
            for (claim_id, line), number in sorted(
                report.fixes.items(), key=lambda item: (item[0][0], item[0][1] or 0)
            )
        ],
        "summary": report.summary(),
    }


def result_json_text(report: ScrubReport) -> str:
    """`json.dumps(result_json(report))`, written directly: the same document (a test compares
    them) without building 200,000 line dicts first. Findings, codes and dates repeat across
    lines, so each is encoded once."""
    dumps = json.dumps
    encoded: dict[int, str] = {}
    texts: dict[object, str] = {}

    def text(value: object) -> str:
        found = texts.get(value)
        if found is None:
            found = texts[value] = dumps(value.isoformat() if isinstance(value, dt.date) else value)
        return found

    claims = []
    for result in report.results:
        claim = result.claim
        lines = []
        for line in result.lines:
            findings = []
            for finding in line.findings:
                found = encoded.get(id(finding))
                if found is None:
                    found = encoded[id(finding)] = dumps(finding.as_dict())
                findings.append(found)
            lines.append(
                f'{{"line": {line.line.number}, "code": {text(line.line.code)}, '
                f'"date": {text(line.line.from_date)}, "units": {line.line.units}, '
                f'"findings": [{", ".join(findings)}]}}'
            )
        claims.append(
            f'{{"claim_id": {dumps(claim.claim_id)}, "member_id": {dumps(claim.member_id)}, '
            f'"payer_id": {text(claim.payer_id)}, "lines": [{", ".join(lines)}]}}'
        )
    rest = result_json(ScrubReport([], report.errors, report.fixes))
    rest["summary"] = report.summary()
    tail = dumps({k: v for k, v in rest.items() if k != "claims"})
    return f'{{"claims": [{", ".join(claims)}], {tail[1:]}'


def finding_rows(report: ScrubReport) -> list[dict[str, Any]]:
    """One row per finding, worst first within each claim (the CSV report)."""
    rows = []
    for result in report.results:
        for line in result.lines:
            ordered = sorted(line.findings, key=lambda f: SEVERITY_ORDER[f.severity])
            for finding in ordered:
                rows.append(
                    {
                        "claim_id": result.claim.claim_id,
                        "member_id": result.claim.member_id,
                        "payer_id": result.claim.payer_id,
                        "line": line.line.number,
                        "code": line.line.code,
                        "date": line.line.from_date.isoformat(),
                        "units": line.line.units,
                        "kind": finding.kind.value,
                        "severity": finding.severity.value,
                        "message": finding.message,
                        "fix": finding.fix,
                        "authorization_number": finding.authorization_number,
                    }
                )
    return rows


# -- kept scrubs -----------------------------------------------------------------------------------

FILENAME_MAX = 255
UNNAMED = "claims.837"


def keep(ctx: Context, actor: Scrubber, filename: str, text_sha: str, report: ScrubReport) -> str:
    """Store `report` (scrubbed from a file named `filename` whose text hashes to `text_sha`)
    for the actor's organization; returns the new scrub's id. The corrected 837 is kept when
    the scrub made one."""
    scrub_id = str(uuid.uuid4())
    organization = actor.organization_id
    kept = ClaimScrub(
        id=scrub_id,
        organization_id=organization,
        filename=_plain_name(filename),
        sha256=text_sha,
        scrubbed_at=ctx.now(),
        actor=actor.email,
        counts=counts_of(report),
        has_corrected=report.corrected is not None,
        findings=finding_summary(report),
    )
    with ctx.uow() as uow:
        _scrubs(ctx, uow.session).add(kept, result_json(report), report.corrected)
        record(
            uow,
            actor=actor.email,
            action="create",
            entity="claim_scrub",
            entity_id=scrub_id,
            organization_id=organization,
            reason=f"kept a scrub of {kept.counts.claims} claims ({kept.counts.lines} lines)",
            at=kept.scrubbed_at,
        )
        uow.commit()
    return scrub_id


def finding_summary(report: ScrubReport) -> FindingSummary:
    """What the dashboard sums, without PHI: the file's findings by kind (as the summary counts
    them), and for each line that is not ok its findings by the claim's payer and kind."""
    by_payer: dict[str, Counter[str]] = {}
    for result in report.results:
        for line in result.lines:
            if line.clean:
                continue
            kinds = by_payer.setdefault(result.claim.payer_id, Counter())
            kinds.update(finding.kind.value for finding in line.findings)
    return FindingSummary(
        by_kind=dict(report.summary()["findings"]),
        by_payer={payer: dict(sorted(kinds.items())) for payer, kinds in sorted(by_payer.items())},
    )


def scrub_upload(
    ctx: Context,
    actor: Scrubber,
    filename: str,
    data: bytes,
    *,
    payer_id: str | None = None,
    fix: bool = False,
) -> tuple[str, ScrubReport]:
    """Scrub an uploaded 837 and keep it: (the kept scrub's id, the report). InvalidInput,
    located at `file`, for an empty file or one in which no claim could be read (the issues say
    where each problem is); nothing is kept then. Claims that could not be read in a file with
    others that could are kept with the report, as the CLI reports them."""
    if not data.strip():
        raise InvalidInput.field("file", EMPTY_FILE, code="empty")
    text = data.decode("utf-8", errors="replace")
    report = scrub(ctx, actor, text, payer_id=payer_id or None, fix=fix)
    if not report.results:
        raise _unreadable(report)
    text_sha = hashlib.sha256(data).hexdigest()
    return keep(ctx, actor, filename, text_sha, report), report


EMPTY_FILE = "file: the file is empty; choose the 837 file your billing system exported."


def _unreadable(report: ScrubReport) -> InvalidInput:
    issues = [issue for error in report.errors for issue in error.issues]
    if not issues:
        message = "file: no claims found (no CLM segment); upload an 837P or 837I claim file."
        return InvalidInput.field("file", message, code="no-claims")
    count = "1 problem" if len(issues) == 1 else f"{len(issues)} problems"
    message = (
        f"file: no claim in this 837 could be read ({count}, located below); correct the file "
        "and upload it again."
    )
    return InvalidInput(message, issues)


def counts_of(report: ScrubReport) -> ScrubCounts:
    """The list's figures for one report (errors and warnings count findings, not lines)."""
    summary = report.summary()
    severities = summary["severities"]
    return ScrubCounts(
        claims=summary["claims"],
        lines=summary["lines"],
        clean_lines=summary["clean_lines"],
        errors=severities.get(Severity.ERROR.value, 0),
        warnings=severities.get(Severity.WARNING.value, 0),
        fixable=summary["fixable"],
        unreadable=summary["unreadable_claims"],
    )


def scrubs_page(ctx: Context, actor: Scrubber) -> list[ClaimScrub]:
    """The organization's kept scrubs, newest first (filenames and counts: no member ids)."""
    with ctx.uow() as uow:
        return _scrubs(ctx, uow.session).newest(actor.organization_id)


def scrub_detail(ctx: Context, actor: Scrubber, scrub_id: str) -> dict[str, Any]:
    """One kept scrub of the actor's organization: scrub_json's fields plus `result` (the
    result_json) and `corrected_837` (text or None). NotFound for another organization's id.
    Opening it is audited: the result names members."""
    organization = actor.organization_id
    with ctx.uow() as uow:
        kept = _scrubs(ctx, uow.session).get(organization, scrub_id)
        record(
            uow,
            actor=actor.email,
            action="view",
            entity="claim_scrub",
            entity_id=scrub_id,
            organization_id=organization,
            at=ctx.now(),
        )
        uow.commit()
    return {**scrub_json(kept.scrub), "result": kept.result, "corrected_837": kept.corrected}


def scrub_json(scrub: ClaimScrub) -> dict[str, Any]:
    """A kept scrub as the API lists it."""
    return {
        "id": scrub.id,
        "filename": scrub.filename,
        "sha256": scrub.sha256,
        "scrubbed_at": scrub.scrubbed_at.isoformat(),
        "actor": scrub.actor,
        "counts": scrub.counts.as_dict(),
        "has_corrected_837": scrub.has_corrected,
    }


def _plain_name(filename: str) -> str:
    """The file's own name (no folders a browser may send), never empty, at most 255 chars."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:FILENAME_MAX] or UNNAMED


def _scrubs(ctx: Context, session: Session) -> ClaimScrubRepository:
    return ClaimScrubRepository(session, FieldCipher.from_settings(ctx.settings))


__all__ = [
    "ScrubReport",
    "counts_of",
    "finding_rows",
    "keep",
    "result_json",
    "scrub",
    "scrub_detail",
    "scrub_json",
    "scrub_upload",
    "scrubs_page",
]
