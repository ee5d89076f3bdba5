"""Reading a PAS response Bundle (2.2.1 or 2.0.1) into precert's Determination, or a pended,
contact-payer, cancelled or error result.

The decision is per item, in `item.adjudication.extension(reviewAction)`, with the X12 306 codes
(DOMAIN.md): A1 certified in total, A2 certified partial, A3 not certified, A4 pended, A6
modified, C cancelled, CT contact payer, NA no action required. The authorization number is the
reviewAction `number` (falling back to ClaimResponse.preAuthRef), the window is the item's
itemPreAuthPeriod (or ClaimResponse.preAuthPeriod), and a modified approval names what was
approved in itemAuthorizedDetail or an addItem. ClaimResponse.error and a bare OperationOutcome
become located Issues. Anything that is not a readable response raises InvalidInput.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from precert.domain.authorizations import ServiceLine
from precert.domain.determinations import (
    Determination,
    LineDecision,
    LineStatus,
    Method,
    Outcome,
)
from precert.errors import InvalidInput, Issue

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
EXT_REVIEW_ACTION = PAS + "extension-reviewAction"
EXT_REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
EXT_PREAUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
EXT_PREAUTH_ISSUE_DATE = PAS + "extension-itemPreAuthIssueDate"
EXT_AUTHORIZED_DETAIL = PAS + "extension-itemAuthorizedDetail"
EXT_AUTHORIZED_PROVIDER = PAS + "extension-itemAuthorizedProvider"
EXT_ADMIN_REFERENCE = PAS + "extension-administrationReferenceNumber"
EXT_ERROR_PATH = PAS + "extension-errorPath"
EXT_ERROR_ELEMENT = PAS + "extension-errorElement"
EXT_FOLLOWUP = PAS + "extension-errorFollowupAction"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


class ReviewAction(StrEnum):
    """X12 306 action codes as PAS carries them (DOMAIN.md, step 5)."""

    CERTIFIED = "A1"
    PARTIAL = "A2"
    NOT_CERTIFIED = "A3"
    PENDED = "A4"
    MODIFIED = "A6"
    CANCELLED = "C"
    CONTACT_PAYER = "CT"
    NOT_REQUIRED = "NA"


class ResultKind(StrEnum):
    DECIDED = "decided"  # a Determination to record (approved, partial, denied, not required)
    PENDED = "pended"  # the payer is still reviewing: wait for the subscription or inquire
    CONTACT_PAYER = "contact_payer"  # the payer wants a call: a person must act
    CANCELLED = "cancelled"  # the payer cancelled the request
    ERROR = "error"  # the payer could not process it: fix the issues and resubmit


_GRANTED = frozenset({ReviewAction.CERTIFIED, ReviewAction.PARTIAL, ReviewAction.MODIFIED})


@dataclass(frozen=True, slots=True)
class ItemReview:
    """The payer's answer on one Claim item."""

    sequence: int
    action: ReviewAction
    number: str = ""
    reason_codes: tuple[str, ...] = ()
    period: tuple[dt.date | None, dt.date | None] = (None, None)
    issued: dt.date | None = None
    authorized_code: str | None = None
    authorized_units: int | None = None
    provider_npi: str | None = None


@dataclass(frozen=True, slots=True)
class PasResult:
    """What a PAS response means for the request; `determination` is set for decided, pended
    and contact-payer results (a pended one carries Outcome.PENDED and the payer's reference)."""

    kind: ResultKind
    items: tuple[ItemReview, ...] = ()
    determination: Determination | None = None
    reference: str = ""  # the payer's pending / administration reference (REF*NT in X12)
    issues: tuple[Issue, ...] = field(default_factory=tuple)


def read_response(
    response: object,
    *,
    lines: Sequence[ServiceLine] | None = None,
    claim: Mapping[str, Any] | None = None,
    received_on: dt.date | None = None,
) -> PasResult:
    """The meaning of a PAS response Bundle, a bare ClaimResponse or an OperationOutcome.

    The decision date is the payer's (the review's issue date, else ClaimResponse.created);
    a response that names neither is dated `received_on`, the day it reached us, and without
    that it is refused rather than given a made-up date.

    Items are matched to what was asked by sequence: `lines` (our request's lines, sequence n is
    lines[n-1]) or the request `claim`, else the Claim the response Bundle carries, else the
    code in the item's authorized detail.
    """
    if not isinstance(response, Mapping):
        raise _bad("", "a PAS response must be a JSON object (a Bundle or a ClaimResponse).")
    kind = response.get("resourceType")
    if kind == "OperationOutcome":
        return PasResult(ResultKind.ERROR, issues=tuple(_outcome_issues(response, "")))
    entries: list[Mapping[str, Any]] = []
    at = ""
    if kind == "Bundle":
        entries = _entries(response)
        if not entries:
            raise _bad("Bundle.entry", "the response Bundle has no entries.")
        first = entries[0]["resource"]
        if first.get("resourceType") == "OperationOutcome":
            return PasResult(ResultKind.ERROR, issues=tuple(_outcome_issues(first, "")))
        if first.get("resourceType") != "ClaimResponse":
            raise _bad("Bundle.entry[0].resource", "the first entry must be the ClaimResponse.")
        at = "Bundle.entry[0].resource"
        resource = first
    elif kind == "ClaimResponse":
        resource = response
    else:
        raise _bad("resourceType", "expected a Bundle, ClaimResponse or OperationOutcome.")
    return _read_claim_response(resource, at, entries, lines, claim, received_on)


def _read_claim_response(
    resource: Mapping[str, Any],
    at: str,
    entries: list[Mapping[str, Any]],
    lines: Sequence[ServiceLine] | None,
    claim: Mapping[str, Any] | None,
    received_on: dt.date | None,
) -> PasResult:
    where = f"{at}." if at else "ClaimResponse."
    errors = tuple(_error_issues(resource.get("error"), where))
    raw_items = _list(resource.get("item"), f"{where}item")
    items = tuple(_item(item, f"{where}item[{i}]", entries) for i, item in enumerate(raw_items))
    items = _with_added(items, resource.get("addItem"), f"{where}addItem")
    reference = _first_reference(raw_items)
    if errors and not items:
        return PasResult(ResultKind.ERROR, issues=errors)
    if not items:
        if resource.get("outcome") == "error":
            return PasResult(ResultKind.ERROR, issues=errors)
        raise _bad(f"{where}item", "the ClaimResponse has no items and no errors to read.")
    actions = {item.action for item in items}
    created = _date(resource.get("created"), f"{where}created") or None
    if ReviewAction.CANCELLED in actions and actions <= {ReviewAction.CANCELLED}:
        # A confirmed cancellation (HCR01 C in the 278) has no decision to record; its reference
        # is the payer's tracking number, else the authorization number it withdrew.
        withdrawn = next((item.number for item in items if item.number), "")
        reference = reference or withdrawn or _text(resource.get("preAuthRef"))
        return PasResult(ResultKind.CANCELLED, items, reference=reference, issues=errors)
    if ReviewAction.PENDED in actions or ReviewAction.CONTACT_PAYER in actions:
        kind = ResultKind.PENDED if ReviewAction.PENDED in actions else ResultKind.CONTACT_PAYER
        determination = Determination(
            outcome=Outcome.PENDED,
            method=Method.FHIR,
            decision_date=created or _received(received_on, where),
            reference=reference,
        )
        return PasResult(kind, items, determination, reference, errors)
    asked = _asked(lines, claim, entries)
    decisions = tuple(
        _line(item, asked) for item in items if item.action is not ReviewAction.CANCELLED
    )
    dated = created or received_on
    determination = _determination(resource, where, items, decisions, dated, reference)
    return PasResult(ResultKind.DECIDED, items, determination, reference, errors)


def _determination(
    resource: Mapping[str, Any],
    where: str,
    items: tuple[ItemReview, ...],
    decisions: tuple[LineDecision, ...],
    created: dt.date | None,
    reference: str,
) -> Determination:
    granted = [item for item in items if item.action in _GRANTED]
    actions = {item.action for item in items} - {ReviewAction.CANCELLED}
    if granted:
        partial = any(line.status is not LineStatus.APPROVED for line in decisions)
        outcome = Outcome.PARTIALLY_APPROVED if partial else Outcome.APPROVED
    elif actions <= {ReviewAction.NOT_REQUIRED}:
        outcome = Outcome.NOT_REQUIRED
    else:
        outcome = Outcome.DENIED
    number = next((item.number for item in granted if item.number), "") or _text(
        resource.get("preAuthRef")
    )
    period = _period(resource.get("preAuthPeriod"), f"{where}preAuthPeriod")
    starts = [d for item in granted if (d := item.period[0])] or [d for d in period[:1] if d]
    ends = [d for item in granted if (d := item.period[1])] or [d for d in period[1:] if d]
    issued = [item.issued for item in granted if item.issued]
    npis = [item.provider_npi for item in granted if item.provider_npi]
    reasons = tuple(dict.fromkeys(code for item in items for code in item.reason_codes))
    return Determination(
        outcome=outcome,
        method=Method.FHIR,
        decision_date=min(issued) if issued else created or _received(None, where),
        authorization_number=number,
        valid_from=min(starts, default=None),
        valid_to=max(ends, default=None),
        provider_npi=npis[0] if npis else None,
        reason_codes=reasons,
        reference=reference,
        lines=decisions,
    )


def _received(received_on: dt.date | None, where: str) -> dt.date:
    """The day the response reached us, when the payer dated nothing; refused without one."""
    if received_on is None:
        raise _bad(
            f"{where}created",
            "the response names no decision date (no created date and no review issue date); "
            "read it with the day it was received.",
        )
    return received_on


def _asked(
    lines: Sequence[ServiceLine] | None,
    claim: Mapping[str, Any] | None,
    entries: list[Mapping[str, Any]],
) -> dict[int, tuple[str, int]]:
    """Sequence -> (requested code, requested units)."""
    if lines is not None:
        return {n: (line.code, line.units) for n, line in enumerate(lines, start=1)}
    if claim is None:
        claims = [e["resource"] for e in entries if e["resource"].get("resourceType") == "Claim"]
        claim = claims[0] if claims else None
    asked: dict[int, tuple[str, int]] = {}
    items = claim.get("item") if claim is not None else None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("sequence"), int):
            continue
        code = _code(item.get("productOrService"))
        quantity = item.get("quantity")
        units = quantity.get("value") if isinstance(quantity, Mapping) else None
        asked[item["sequence"]] = (code or "", _whole(units) or 1)
    return asked


def _line(item: ItemReview, asked: dict[int, tuple[str, int]]) -> LineDecision:
    code, units = asked.get(item.sequence, (item.authorized_code or "", item.authorized_units or 1))
    if item.action is ReviewAction.NOT_CERTIFIED:
        return LineDecision(code, 0, LineStatus.DENIED)
    approved_units = item.authorized_units if item.authorized_units is not None else units
    approved_code = item.authorized_code if item.authorized_code not in (None, code) else None
    if approved_code is not None and not _PROCEDURE.fullmatch(approved_code.upper()):
        # The IG's examples put an X12 service-type code (e.g. "3") in the authorized detail;
        # only a CPT or HCPCS code can be the code a modified approval covers.
        approved_code = None
    if item.action in (ReviewAction.PARTIAL, ReviewAction.MODIFIED):
        # Certified partial or modified: less than, or other than, what was asked.
        return LineDecision(code, approved_units, LineStatus.MODIFIED, approved_code)
    return LineDecision(code, approved_units, LineStatus.APPROVED)


# -- one item --------------------------------------------------------------------------------


def _item(raw: object, at: str, entries: list[Mapping[str, Any]]) -> ItemReview:
    if not isinstance(raw, Mapping):
        raise _bad(at, "each item must be an object.")
    sequence = raw.get("itemSequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise _bad(f"{at}.itemSequence", "each item needs its itemSequence (1, 2...).")
    review = _review_action(raw, at)
    if review is None:
        raise _bad(
            f"{at}.adjudication", "the item has no reviewAction; the decision cannot be read."
        )
    action, number, reasons = review
    extensions = _extensions(raw, at)
    period = _period(
        _value(extensions.get(EXT_PREAUTH_PERIOD), "valuePeriod"),
        f"{at}.extension(itemPreAuthPeriod)",
    )
    issued = _date(
        _value(extensions.get(EXT_PREAUTH_ISSUE_DATE), "valueDate"),
        f"{at}.extension(itemPreAuthIssueDate)",
    )
    code, units = _authorized_detail(extensions.get(EXT_AUTHORIZED_DETAIL), at)
    npi = _authorized_npi(extensions.get(EXT_AUTHORIZED_PROVIDER), entries)
    return ItemReview(sequence, action, number, reasons, period, issued, code, units, npi)


def _review_action(
    item: Mapping[str, Any], at: str
) -> tuple[ReviewAction, str, tuple[str, ...]] | None:
    adjudications = _list(item.get("adjudication"), f"{at}.adjudication")
    for j, adjudication in enumerate(adjudications):
        if not isinstance(adjudication, Mapping):
            raise _bad(f"{at}.adjudication[{j}]", "each adjudication must be an object.")
        for ext in _list(adjudication.get("extension"), f"{at}.adjudication[{j}].extension"):
            if isinstance(ext, Mapping) and ext.get("url") == EXT_REVIEW_ACTION:
                return _review_parts(ext, f"{at}.adjudication[{j}].extension(reviewAction)")
    return None


def _review_parts(ext: Mapping[str, Any], at: str) -> tuple[ReviewAction, str, tuple[str, ...]]:
    parts = _extensions(ext, at)
    raw_code = _code(_value(parts.get(EXT_REVIEW_ACTION_CODE), "valueCodeableConcept"))
    try:
        action = ReviewAction(raw_code or "")
    except ValueError:
        accepted = ", ".join(a.value for a in ReviewAction)
        raise _bad(
            f"{at}.reviewActionCode",
            f"review action code {raw_code or '(none)'!r} is not one of {accepted}.",
        ) from None
    number = _text(_value(parts.get("number"), "valueString"))
    reason = _code(_value(parts.get("reasonCode"), "valueCodeableConcept"))
    return action, number, (reason,) if reason else ()


_PROCEDURE = re.compile(r"\d{5}|\d{4}[FTU]|[A-V]\d{4}")


def _authorized_detail(ext: object, at: str) -> tuple[str | None, int | None]:
    if not isinstance(ext, Mapping):
        return None, None
    parts = _extensions(ext, f"{at}.extension(itemAuthorizedDetail)")
    code = _code(_value(parts.get("productOrServiceCode"), "valueCodeableConcept")) or None
    quantity = _value(parts.get("quantity"), "valueQuantity")
    value = quantity.get("value") if isinstance(quantity, Mapping) else None
    return code, _whole(value)


def _authorized_npi(ext: object, entries: list[Mapping[str, Any]]) -> str | None:
    if not isinstance(ext, Mapping):
        return None
    parts = _extensions(ext, "")
    ref = _value(parts.get("provider"), "valueReference")
    target = ref.get("reference") if isinstance(ref, Mapping) else None
    if not isinstance(target, str):
        return None
    for entry in entries:
        resource = entry["resource"]
        name = f"{resource.get('resourceType')}/{resource.get('id')}"
        if target in (entry.get("fullUrl"), name) or str(entry.get("fullUrl", "")).endswith(
            "/" + target
        ):
            for identifier in resource.get("identifier") or []:
                if isinstance(identifier, Mapping) and identifier.get("system") == NPI_SYSTEM:
                    value = identifier.get("value")
                    return value if isinstance(value, str) else None
    return None


def _with_added(items: tuple[ItemReview, ...], raw: object, at: str) -> tuple[ItemReview, ...]:
    """A modified approval may name what was approved instead in an addItem pointing back at
    the item(s) by itemSequence; its code and quantity become the item's authorized ones."""
    added: dict[int, tuple[str | None, int | None]] = {}
    for k, add in enumerate(_list(raw, at)):
        if not isinstance(add, Mapping):
            raise _bad(f"{at}[{k}]", "each addItem must be an object.")
        code = _code(add.get("productOrService")) or None
        quantity = add.get("quantity")
        value = quantity.get("value") if isinstance(quantity, Mapping) else None
        units = _whole(value)
        for sequence in _list(add.get("itemSequence"), f"{at}[{k}].itemSequence"):
            if isinstance(sequence, int):
                added[sequence] = (code, units)
    return tuple(
        replace(
            item,
            authorized_code=item.authorized_code or added[item.sequence][0],
            authorized_units=(
                item.authorized_units
                if item.authorized_units is not None
                else added[item.sequence][1]
            ),
        )
        if item.sequence in added
        else item
        for item in items
    )


# -- errors ----------------------------------------------------------------------------------


def _error_issues(raw: object, where: str) -> list[Issue]:
    found = []
    for k, error in enumerate(_list(raw, f"{where}error")):
        if not isinstance(error, Mapping):
            raise _bad(f"{where}error[{k}]", "each error must be an object.")
        code = _code(error.get("code")) or "error"
        parts = _extensions(error, f"{where}error[{k}]")
        path = _text(_value(parts.get(EXT_ERROR_PATH), "valueString"))
        element = _extensions(parts.get(EXT_ERROR_ELEMENT) or {}, "")
        x12_element = _text(_value(element.get("error"), "valueString"))
        followup = _code(_value(parts.get(EXT_FOLLOWUP), "valueCodeableConcept"))
        location = path or x12_element or f"{where}error[{k}]"
        message = f"{location}: the payer rejected the request (X12 reject reason {code})"
        if followup:
            message += f"; follow-up action {followup}"
        found.append(Issue(f"x12-{code}", message + ".", location))
    return found


def _outcome_issues(outcome: Mapping[str, Any], at: str) -> list[Issue]:
    found = []
    for k, issue in enumerate(_list(outcome.get("issue"), f"{at}issue")):
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = _text(issue.get("diagnostics")) or (
            _text(details.get("text")) if isinstance(details, Mapping) else ""
        )
        expressions = issue.get("expression")
        location = (
            expressions[0]
            if isinstance(expressions, list) and expressions and isinstance(expressions[0], str)
            else f"OperationOutcome.issue[{k}]"
        )
        code = _text(issue.get("code")) or "processing"
        found.append(Issue(code, f"{location}: {text or 'the payer reported an error.'}", location))
    return found


# -- small readers that never raise anything but InvalidInput ----------------------------------


def _entries(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = []
    for i, entry in enumerate(_list(bundle.get("entry"), "Bundle.entry")):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            raise _bad(f"Bundle.entry[{i}].resource", "each entry needs a resource object.")
        entries.append(entry)
    return entries


def _list(value: object, at: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(at, "must be a list.")
    return value


def _extensions(node: object, at: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(node, Mapping):
        return {}
    found: dict[str, Mapping[str, Any]] = {}
    for ext in _list(node.get("extension"), f"{at}.extension" if at else "extension"):
        if isinstance(ext, Mapping) and isinstance(ext.get("url"), str):
            found.setdefault(ext["url"], ext)
    return found


def _value(ext: object, name: str) -> Any:
    return ext.get(name) if isinstance(ext, Mapping) else None


def _code(concept: object) -> str:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return ""


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _whole(value: object) -> int | None:
    """A quantity as whole units, or None when it is not a sensible number."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e9:
        return int(value)
    return None


def _date(value: object, at: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < 10:
        raise _bad(at, "a date is written YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise _bad(at, f"{value[:10]!r} is not a date written YYYY-MM-DD.") from None


def _period(value: object, at: str) -> tuple[dt.date | None, dt.date | None]:
    if not isinstance(value, Mapping):
        return None, None
    return _date(value.get("start"), f"{at}.start"), _date(value.get("end"), f"{at}.end")


def _first_reference(items: list[Any]) -> str:
    for item in items:
        ext = _extensions(item, "").get(EXT_ADMIN_REFERENCE)
        reference = _text(_value(ext, "valueString"))
        if reference:
            return reference
    return ""


def _bad(location: str, message: str) -> InvalidInput:
    where = location or "response"
    return InvalidInput.field(where, f"{where}: {message}")
