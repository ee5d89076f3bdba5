"""Demo data for `make run`: the organization "Demo Clinic", its four users and about forty
synthetic requests across the shipped payers in every status, with realistic timelines, and
the vault login `portal_login` for mock portal (a) that `make run` starts (services.demo_portal).

Everything goes through the same services a person's clicks do (create, documents, status
changes, decisions, appeal, assignment, the follow-up sweep), on a stepping clock (`ctx.now`), so
timelines, audit events and encryption are the real thing. Patients are obviously synthetic
("Demo-" surnames, member ids DEMO000101...). Loading twice adds nothing: each request has an
idempotency key and users are looked up by email. Refused in production.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from precert.channels.registry import payer_channels
from precert.domain.authorizations import Status
from precert.errors import Issue, PermissionDenied
from precert.security import totp
from precert.services import authorization_requests as requests
from precert.services.accounts import (
    Actor,
    actor_for,
    create_organization,
    create_user,
    enable_totp,
)
from precert.services.authorization_requests import request_repository, required_documents
from precert.services.context import Context
from precert.services.demo_billing import load_billing
from precert.services.demo_portal import CREDENTIAL as PORTAL_CREDENTIAL
from precert.services.demo_portal import ensure_portal_login
from precert.services.documents import upload_document
from precert.services.submission import submit_request
from precert.services.sweep import follow_up, sweep
from precert.store.accounts import OrganizationRepository, UserRepository
from precert.store.requests import KeyedRequest

DEMO_ORG = "Demo Clinic"
# Public on purpose: demo logins on a developer's machine; production refuses the whole command.
DEMO_PASSWORD = "demo-clinic-password"
USERS = (
    ("admin@demo.example", "admin"),
    ("specialist@demo.example", "specialist"),
    ("biller@demo.example", "biller"),
    ("viewer@demo.example", "viewer"),
)
TOTP_USER = "specialist@demo.example"
NPI = "1234567893"
KEY_PREFIX = "demo:"
# (payer, plan, code, place of service, diagnosis): each needs approval (checked at creation).
SERVICES = (
    ("medicare", "medicare-ffs", "15823", "22", "H02.831"),
    ("acme-health", "commercial", "70551", "22", "G43.909"),
    ("northwind-health", "commercial", "E0601", "12", "G47.33"),
    ("coralbay-medicaid", "medicaid-managed-care", "29881", "24", "S83.241A"),
    ("medicare", "medicare-ffs", "67904", "22", "H02.401"),
    ("acme-health", "commercial", "27447", "24", "M17.11"),
    ("northwind-health", "commercial", "95810", "19", "G47.33"),
    ("coralbay-medicaid", "medicaid-managed-care", "27447", "22", "M17.11"),
    ("acme-health", "medicare-advantage", "72148", "22", "M54.50"),
    ("northwind-health", "marketplace", "81162", "81", "Z80.3"),
    ("coralbay-medicaid", "medicaid-managed-care", "E0260", "12", "M62.81"),
    ("acme-health", "commercial", "22612", "21", "M43.16"),
)
FIRST_NAMES = ("Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Skyler")
SURNAMES = ("Ashford", "Birch", "Cedar", "Dunmore", "Elmwood", "Fernley", "Glenn", "Hawthorne")
# Lifecycle -> how many requests follow it. Each lifecycle is a list of (step, days ago).
LIFECYCLES: dict[str, tuple[int, tuple[tuple[str, float], ...]]] = {
    "new": (4, ()),
    "missing-documents": (4, (("one-document", 1.5),)),
    "ready": (3, (("documents", 1),)),
    "ready-by-override": (1, (("override", 2),)),
    "submitted": (4, (("documents", 3), ("submit", 2))),
    "pended-past-turnaround": (4, (("documents", 13), ("submit", 12), ("pend", 10))),
    "information-requested": (3, (("documents", 7), ("submit", 6), ("info", 3))),
    "approved": (6, (("documents", 16), ("submit", 15), ("approve", 10))),
    "approval-expiring": (2, (("documents", 30), ("submit", 29), ("approve-short", 25))),
    "approval-ended": (1, (("documents", 40), ("submit", 39), ("approve-short", 31))),
    "denied-then-appealed": (2, (("documents", 20), ("submit", 19), ("deny", 12), ("appeal", 9))),
    "denied": (1, (("documents", 9), ("submit", 8), ("deny", 2))),
    "not-required": (1, (("not-required", 4),)),
    "cancelled": (2, (("cancel", 5),)),
    "expired": (1, (("documents", 120), ("submit", 119), ("approve-past", 115), ("expire", 1))),
    "service-soon": (1, ()),
    "partially-approved": (1, (("documents", 11), ("submit", 10), ("partial", 6))),
}


@dataclass
class DemoResult:
    """What a load did; `totp_uri` only when the specialist's authenticator was set up now;
    `portal_credential` when the mock portal's login was added to the vault now."""

    organization: str
    created_users: list[str] = field(default_factory=list)
    created_requests: int = 0
    existing_requests: int = 0
    needing_attention: int = 0
    claims_scrubbed: int = 0
    recovery_items: int = 0
    totp_uri: str | None = None
    totp_code: str | None = None
    portal_credential: str | None = None


def load_demo(ctx: Context, *, org: str = DEMO_ORG) -> DemoResult:
    """Create what is missing of the demo (nothing when it is all there); see the module doc."""
    if ctx.settings.env == "production":
        message = (
            "demo data is refused in production (PRECERT_ENV=production): it has public logins"
        )
        raise PermissionDenied(message, [Issue("forbidden", message, "PRECERT_ENV")])
    result = DemoResult(org)
    _ensure_accounts(ctx, org, result)
    specialist = _actor(ctx, TOTP_USER)
    admin = _actor(ctx, USERS[0][0])
    if ensure_portal_login(ctx, admin.organization_id, actor=admin.user_id):
        result.portal_credential = PORTAL_CREDENTIAL
    wall = ctx.now()
    plan = list(_plan(wall))
    existing = _keyed(ctx, specialist.organization_id, [item.key for item in plan])
    result.existing_requests = len(existing)
    clock = _SteppingClock(ctx)
    try:
        made = [item for item in plan if item.key not in existing]
        for item in made:
            _play(ctx, specialist, item, clock)
        result.created_requests = len(made)
        clock.set(wall)
        _assign(ctx, admin, made)
        result.needing_attention = _sweep(ctx, wall)
    finally:
        clock.restore()
    # The billing side (a scrubbed claim file, a remittance's denials), with the real clock.
    result.claims_scrubbed, result.recovery_items = load_billing(ctx, admin)
    return result


# -- accounts -------------------------------------------------------------------------------------


def _ensure_accounts(ctx: Context, org: str, result: DemoResult) -> None:
    with ctx.uow() as uow:
        has_org = OrganizationRepository(uow.session).by_name(org) is not None
        users = UserRepository(uow.session)
        missing = [(email, role) for email, role in USERS if users.by_email(email) is None]
    if not has_org:
        create_organization(ctx, org)
    for email, role in missing:
        create_user(ctx, org=org, email=email, role=role, password=DEMO_PASSWORD)
        result.created_users.append(email)
        if email == TOTP_USER:
            uri = enable_totp(ctx, email)
            result.totp_uri = uri
            secret = uri.split("secret=", 1)[1].split("&", 1)[0]
            result.totp_code = totp.code_at(secret, ctx.now())


def _actor(ctx: Context, email: str) -> Actor:
    with ctx.uow() as uow:
        user = UserRepository(uow.session).by_email(email)
        if user is None:  # created just above; only a concurrent delete gets here
            raise PermissionDenied(f"the demo user {email} is missing; run the load again")
        return actor_for(user)


# -- the plan: which request follows which lifecycle ---------------------------------------------


@dataclass(frozen=True)
class _Planned:
    key: str
    number: int
    lifecycle: str
    steps: tuple[tuple[str, float], ...]
    payload: dict[str, Any]
    created: dt.datetime
    wall: dt.datetime  # the load's real time: steps are so many days before it


def _plan(wall: dt.datetime) -> Iterator[_Planned]:
    number = 0
    for lifecycle, (count, steps) in LIFECYCLES.items():
        for _ in range(count):
            number += 1
            first = max((days for _, days in steps), default=0.5) + 0.5
            yield _Planned(
                f"{KEY_PREFIX}{lifecycle}-{number}",
                number,
                lifecycle,
                steps,
                _payload(number, lifecycle, wall.date()),
                wall - dt.timedelta(days=first),
                wall,
            )


def _payload(number: int, lifecycle: str, today: dt.date) -> dict[str, Any]:
    payer, plan, code, pos, dx = SERVICES[number % len(SERVICES)]
    days = 3 if lifecycle == "service-soon" else 10 + (number * 7) % 50
    when = (today + dt.timedelta(days=days)).isoformat()
    services = [{"code": code, "units": 1, "pos": pos, "diagnoses": [dx], "from": when}]
    if lifecycle == "partially-approved":  # a chemodenervation with its drug: one line denied
        payer, plan, pos = "medicare", "medicare-ffs", "22"
        services = [
            {"code": "64612", "units": 1, "pos": pos, "diagnoses": ["G24.5"], "from": when},
            {"code": "J0585", "units": 100, "pos": pos, "diagnoses": ["G24.5"], "from": when},
        ]
    birth = dt.date(1946, 3, 1) + dt.timedelta(days=(number * 397) % 24_000)
    return {
        "payer_id": payer,
        "plan": plan,
        "state": "TX",
        "urgency": "expedited" if number % 9 == 0 else "standard",
        "patient": {
            "first_name": FIRST_NAMES[number % len(FIRST_NAMES)],
            "last_name": f"Demo-{SURNAMES[(number // len(FIRST_NAMES)) % len(SURNAMES)]}",
            "birth_date": birth.isoformat(),
            "member_id": f"DEMO{100 + number:06d}",
        },
        "ordering_npi": NPI,
        "rendering_npi": NPI,
        "services": services,
    }


# -- playing a lifecycle through the services ----------------------------------------------------


class _SteppingClock:
    """Sets `ctx.now` to each step's moment, so that services stamp the story's times."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._original: Callable[[], dt.datetime] = ctx.now

    def set(self, moment: dt.datetime) -> dt.datetime:
        self._ctx.now = lambda: moment
        return moment

    def restore(self) -> None:
        self._ctx.now = self._original


def _play(ctx: Context, actor: Actor, item: _Planned, clock: _SteppingClock) -> None:
    at = clock.set(item.created)
    request = requests.create_request(ctx, actor, item.payload, idempotency_key=item.key, now=at)
    for step, days_ago in item.steps:
        at = clock.set(item.wall - dt.timedelta(days=days_ago))
        _STEPS[step](ctx, actor, request.id, at)


def _documents(ctx: Context, actor: Actor, request_id: str, at: dt.datetime, *, only: int) -> None:
    request = requests.get_request(ctx, actor, request_id).request
    for kind in required_documents(request)[:only]:
        name = kind.lower().replace(" ", "-")[:40].strip("-") + ".pdf"
        data = _pdf(kind, f"{request.patient.first_name} {request.patient.last_name}")
        upload_document(ctx, actor, request_id, kind=kind, filename=name, data=data, now=at)
    if only > 1 and requests.get_request(ctx, actor, request_id).request.status is Status.DRAFT:
        # A checklist the payer's rules leave empty: a person says the request is complete.
        requests.mark_ready(ctx, actor, request_id, override_reason="nothing to attach", now=at)


def _decision(outcome: str, at: dt.datetime, number: str, **extra: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "method": "phone",
        "reference": f"CALL-{number}",
        "rep_name": "Dana Demo-Rep",
        "decision_date": at.date().isoformat(),
        **extra,
    }


Step = Callable[[Context, Actor, str, dt.datetime], object]
Window = Callable[[dt.date, dt.date], tuple[dt.date, dt.date]]


def _approver(window: Window) -> Step:
    """An approval step; `window(service date, decision date)` gives its valid from/to."""

    def step(ctx: Context, actor: Actor, request_id: str, at: dt.datetime) -> None:
        request = requests.get_request(ctx, actor, request_id).request
        start, end = window(request.first_service_date, at.date())
        body = _decision(
            "approved",
            at,
            request_id[:6].upper(),
            authorization_number=f"DEMO-AUTH-{request_id[:8].upper()}",
            valid_from=start.isoformat(),
            valid_to=end.isoformat(),
            lines=[{"code": line.code, "approved_units": line.units} for line in request.lines],
        )
        requests.record_determination(ctx, actor, request_id, body, now=at)

    return step


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _partial(ctx: Context, actor: Actor, request_id: str, at: dt.datetime) -> None:
    request = requests.get_request(ctx, actor, request_id).request
    start = request.first_service_date - dt.timedelta(days=7)
    body = _decision(
        "partially_approved",
        at,
        request_id[:6].upper(),
        authorization_number=f"DEMO-AUTH-{request_id[:8].upper()}",
        valid_from=start.isoformat(),
        valid_to=(start + dt.timedelta(days=90)).isoformat(),
        reason_codes=["50"],
        lines=[
            {"code": "64612", "approved_units": 1},
            {"code": "J0585", "approved_units": 0, "status": "denied"},
        ],
    )
    requests.record_determination(ctx, actor, request_id, body, now=at)


def _deny(ctx: Context, actor: Actor, request_id: str, at: dt.datetime) -> None:
    body = _decision("denied", at, request_id[:6].upper(), reason_codes=["50"])
    requests.record_determination(ctx, actor, request_id, body, now=at)


def _event(name: str, note: str = "", **data: Any) -> Callable[..., None]:
    def step(ctx: Context, actor: Actor, request_id: str, at: dt.datetime) -> None:
        info_due = at + dt.timedelta(days=5) if name == "info_requested" else None
        requests.apply_event(
            ctx, actor, request_id, name, note, info_due=info_due, data=data or None, now=at
        )

    return step


_portal_by_hand = _event("submit", "", method="portal", reference="DEMO-PORTAL-SUBMISSION")


def _submit(ctx: Context, actor: Actor, request_id: str, at: dt.datetime) -> None:
    """Send by the real fax channel where the payer takes faxes and this installation has a fax
    identity (make run sets one): the packet lands in the fax outbox and the dashboard counts the
    minutes saved. Otherwise a person's portal submission is recorded, as a team would."""
    request = requests.get_request(ctx, actor, request_id).request
    settings = ctx.settings
    faxable = any(d.type == "fax" and d.address for d in payer_channels(request))
    if faxable and settings.fax_sender_phone and settings.fax_sender_number:
        submit_request(ctx, actor, request_id, channel="fax", idempotency_key=f"demo:{request_id}")
    else:
        _portal_by_hand(ctx, actor, request_id, at)


_STEPS: dict[str, Step] = {
    "documents": lambda c, a, r, t: _documents(c, a, r, t, only=99),
    "one-document": lambda c, a, r, t: _documents(c, a, r, t, only=1),
    "override": lambda c, a, r, t: requests.mark_ready(
        c, a, r, override_reason="records faxed by the surgeon's office", now=t
    ),
    "submit": lambda c, a, r, t: _submit(c, a, r, t),
    "pend": _event("payer_pended", "In clinical review at the payer", reference="DEMO-PEND"),
    "info": _event("info_requested", "Payer asks for the last 6 weeks of therapy notes"),
    "approve": _approver(lambda service, _: (service - _days(14), service + _days(76))),
    # Valid 30 days from the decision, the service weeks away: ends before it, which the sweep
    # flags two weeks before the window closes, while the payer can still extend it.
    "approve-short": _approver(lambda _, decided: (decided - _days(1), decided + _days(29))),
    "approve-past": _approver(lambda _, decided: (decided - _days(1), decided + _days(60))),
    "partial": _partial,
    "deny": _deny,
    "appeal": lambda c, a, r, t: requests.appeal_request(
        c, a, r, note="Peer-to-peer review requested; updated imaging attached", now=t
    ),
    "not-required": _event(
        "payer_not_required",
        "Payer confirmed by phone: no authorization needed under this plan",
        method="phone",
        reference="CALL-DEMO-NR",
        rep_name="Sam Demo-Rep",
    ),
    "cancel": _event("cancel", "Surgery postponed by the patient"),
    "expire": _event("expire", "The approval's window ended before the service"),
}


def _assign(ctx: Context, admin: Actor, made: list[_Planned]) -> None:
    """Every third new request goes to the specialist, so 'assigned to me' is not empty."""
    from precert.services.queue import assign

    keyed = _keyed(ctx, admin.organization_id, [item.key for item in made[::3]])
    ids = [found.id for found in keyed.values()]
    if ids:
        assign(ctx, admin, ids, TOTP_USER)


def _sweep(ctx: Context, wall: dt.datetime) -> int:
    """Run the follow-up sweep once, as the worker would: flags what needs a person now."""
    flagged = 0
    for due in sweep(ctx, now=wall):
        if follow_up(ctx, due.organization_id, due.request_id, now=wall).event is not None:
            flagged += 1
    return flagged


def _keyed(ctx: Context, organization_id: str, keys: list[str]) -> dict[str, KeyedRequest]:
    with ctx.uow() as uow:
        return request_repository(ctx, uow).keyed(organization_id, keys)


def _pdf(kind: str, patient: str) -> bytes:
    """A one-page PDF that says plainly it is a synthetic demo document."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=letter)
    page.setTitle(f"Demo document: {kind}")
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 720, "SYNTHETIC DEMO DOCUMENT - not a real patient")
    page.setFont("Helvetica", 12)
    page.drawString(72, 690, kind[:90])
    page.drawString(72, 670, f"Patient: {patient} (synthetic)")
    page.drawString(72, 650, "Generated by `precert demo load` for the demo queue.")
    page.showPage()
    page.save()
    return buffer.getvalue()
