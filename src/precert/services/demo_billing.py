"""The demo's billing side: a claim file scrubbed against the demo clinic's approvals (one claim
that matches, one without its number, one billed with another code, one after the window), and
a synthetic remittance with authorization denials imported into recovery work, so that the
Claims and Denials pages and the dashboard's charts have something to show on `make run`.

Loaded once: a second `precert demo load` finds the kept scrub and the imported file and adds
nothing. Everything is synthetic (the demo's made-up members; the remittance names no one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from importlib import resources

from precert.channels.x12.tx837_write import Claim, Line, build_837
from precert.domain.authorizations import AuthorizationRequest
from precert.domain.claims import AuthorizationRecord, AuthorizationStatus
from precert.security.crypto import FieldCipher
from precert.services import authorization_records, claims_scrub, recovery
from precert.services.accounts import Actor
from precert.services.authorization_requests import request_repository
from precert.services.context import Context
from precert.store.claim_scrubs import ClaimScrubRepository
from precert.store.recovery import RecoveryRepository

CLAIM_FILE = "demo-claims.837"
REMIT_FILE = "demo-remit.835"
# A code billed instead of the approved one, by approved code (the classic 70551/70553 mix-up).
OTHER_CODE = {"70551": "70553", "70553": "70551", "72148": "72158", "E0601": "E0470"}


def load_billing(ctx: Context, actor: Actor) -> tuple[int, int]:
    """(claims scrubbed, recovery items created) — nothing when the demo already has them."""
    # Looked up in the store, not through the audited services: a second load reads nothing a
    # person asked to see, so it leaves no trace in the audit trail.
    organization = actor.organization_id
    remit = resources.files("precert.data.demo").joinpath("remit.835").read_text("utf-8")
    sha = hashlib.sha256(remit.encode()).hexdigest()
    with ctx.uow() as uow:
        has_scrub = bool(
            ClaimScrubRepository(uow.session, FieldCipher.from_settings(ctx.settings)).newest(
                organization, limit=1
            )
        )
        has_remit = RecoveryRepository(uow.session).file_by_sha(organization, sha) is not None
    scrubbed = items = 0
    if not has_scrub:
        claims = _claims(ctx, organization)
        if claims:
            claims_scrub.scrub_upload(ctx, actor, CLAIM_FILE, build_837(claims).encode())
            scrubbed = len(claims)
    if not has_remit:
        items = len(recovery.import_remittance(ctx, actor, remit, REMIT_FILE).items)
    return scrubbed, items


def _claims(ctx: Context, organization_id: str) -> list[Claim]:
    """Four claims from the first approvals whose record has a number and a window."""
    today = ctx.today()
    records = [
        r
        for r in authorization_records.records_for(ctx, organization_id)
        if r.request_id
        and r.status is AuthorizationStatus.APPROVED
        and r.number
        and r.valid_from is not None
        and r.valid_to is not None
        and r.valid_to >= today  # still in force: the claim is billed today
    ]
    made: list[Claim] = []
    with ctx.uow() as uow:
        repo = request_repository(ctx, uow)
        requests = {r.request_id: repo.get(organization_id, str(r.request_id)) for r in records}
    # The code mix-up needs an approval whose code has a sibling the payer also reviews.
    swappable = [r for r in records if requests[r.request_id].lines[0].code in OTHER_CODE]
    rest = [r for r in records if r not in swappable[:1]]
    plan = [
        ("matches", rest[:1]),
        ("number_missing", rest[1:2]),
        ("other_code", swappable[:1]),
        ("after_window", rest[2:3]),
    ]
    for shape, chosen in plan:
        for record in chosen:
            made.append(_claim(len(made) + 1, requests[record.request_id], record, shape, today))
    return made


def _claim(
    n: int, request: AuthorizationRequest, record: AuthorizationRecord, shape: str, today: dt.date
) -> Claim:
    line = request.lines[0]
    assert record.valid_from is not None and record.valid_to is not None
    day = min(max(line.from_date, record.valid_from, today), record.valid_to)
    if shape == "after_window":
        day = record.valid_to + dt.timedelta(days=3)
    code = OTHER_CODE.get(line.code, line.code) if shape == "other_code" else line.code
    claim = Claim(
        claim_id=f"DEMO-CLM-{n:03d}",
        member_id=request.coverage.member_id or request.patient.member_id,
        lines=[Line(code, day.strftime("%Y%m%d"), min(line.units, 1))],
        payer_id=request.coverage.payer_id,
        pos=line.pos or "11",
        number="" if shape == "number_missing" else record.number,
    )
    return replace(claim, diagnoses=tuple(d.replace(".", "") for d in line.diagnoses) or ("M5450",))
