"""The demo queue (`precert demo load`) on SQLite and PostgreSQL: every status with a realistic
timeline, synthetic patients, documents, assignments and flags; a second load adds nothing; and
production refuses it."""

from __future__ import annotations

import pytest

from precert.domain.authorizations import Status
from precert.errors import PermissionDenied
from precert.portal_sim.modern.app import DEMO_TOTP_SECRET, DEMO_USERS
from precert.security import totp
from precert.services import authorization_requests as requests
from precert.services import claims_scrub
from precert.services.accounts import verify_login
from precert.services.audit import events_for
from precert.services.authorization_records import organization_actor
from precert.services.context import Context
from precert.services.credentials import lease, list_credentials, login, release, totp_code
from precert.services.dashboard import dashboard
from precert.services.demo import DEMO_ORG, DEMO_PASSWORD, LIFECYCLES, TOTP_USER, load_demo
from precert.services.documents import checklist
from precert.services.schedule_import import actor_by_email


def test_the_demo_covers_every_status_with_synthetic_patients_and_a_second_load_adds_nothing(
    any_ctx: Context,
) -> None:
    first = load_demo(any_ctx)
    # The billing side: four claims scrubbed against the approvals, a remittance's denials.
    assert first.claims_scrubbed == 4 and first.recovery_items >= 5
    demo = organization_actor(any_ctx, DEMO_ORG)
    (kept,) = claims_scrub.scrubs_page(any_ctx, demo)
    scrubbed = claims_scrub.scrub_detail(any_ctx, demo, kept.id)
    claims = scrubbed["result"]["claims"] if "result" in scrubbed else scrubbed["claims"]
    kinds = [line["findings"][0]["kind"] for claim in claims for line in claim["lines"]]
    assert kinds == ["ok", "number_missing_on_claim", "code_not_authorized", "outside_date_window"]

    expected = sum(count for count, _ in LIFECYCLES.values())
    assert (first.created_requests, first.existing_requests) == (expected, 0)
    assert 35 <= expected <= 45
    assert first.created_users == [
        "admin@demo.example",
        "specialist@demo.example",
        "biller@demo.example",
        "viewer@demo.example",
    ]
    specialist = actor_by_email(any_ctx, TOTP_USER)
    queue = requests.list_requests(any_ctx, specialist)
    assert len(queue) == expected
    assert {r.status for r in queue} == set(Status)
    assert all(r.patient.last_name.startswith("Demo-") for r in queue)
    assert all(r.coverage.member_id.startswith("DEMO") for r in queue)
    assert {r.coverage.payer_id for r in queue} == {
        "medicare",
        "acme-health",
        "northwind-health",
        "coralbay-medicaid",
    }
    assert sum(r.assignee is not None for r in queue) >= 5
    flagged = [r.needs_attention for r in queue if r.needs_attention]
    assert len(flagged) >= 5 and first.needing_attention == len(flagged)
    assert any("not approved yet" in flag for flag in flagged)
    assert any("approval ends" in flag for flag in flagged)

    appealed = next(r for r in queue if r.status is Status.APPEALED)
    timeline = requests.get_request(any_ctx, specialist, appealed.id).timeline
    moves = [e.to_status for e in timeline if e.from_status is not e.to_status]
    assert moves == [Status.READY, Status.SUBMITTED, Status.DENIED, Status.APPEALED]
    approved = next(r for r in queue if r.status is Status.APPROVED)
    detail = requests.get_request(any_ctx, specialist, approved.id)
    stamps = [event.at for event in detail.timeline]
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]  # a stepping clock, not one moment
    assert all(item.attached for item in checklist(any_ctx, specialist, approved.id))

    # The specialist's login needs the authenticator, whose URI was handed out once.
    assert first.totp_uri is not None and first.totp_uri.startswith("otpauth://totp/")
    secret = first.totp_uri.split("secret=")[1].split("&")[0]
    now = any_ctx.now()
    actor = verify_login(any_ctx, TOTP_USER, DEMO_PASSWORD, totp.code_at(secret, now), now=now)
    assert actor.email == TOTP_USER

    # The vault holds the mock portal's demo login (what the portal accepts by default) under the
    # name the shipped SOPs use.
    assert first.portal_credential == "portal_login"
    (vaulted,) = list_credentials(any_ctx, demo.organization_id)
    assert (vaulted.name, vaulted.has_password, vaulted.has_totp) == ("portal_login", True, True)
    assert lease(any_ctx, demo.organization_id, "portal_login", "demo-test") is not None
    portal = login(any_ctx, demo.organization_id, "portal_login", holder="demo-test")
    assert portal.password is not None
    assert DEMO_USERS[portal.username] == portal.password.get_secret_value()
    assert release(any_ctx, demo.organization_id, "portal_login", "demo-test")
    code = totp_code(any_ctx, demo.organization_id, "portal_login", now)
    assert code == totp.code_at(DEMO_TOTP_SECRET, now)

    audited = len(events_for(any_ctx, specialist.organization_id, limit=100_000))
    again = load_demo(any_ctx)
    assert (again.created_requests, again.existing_requests) == (0, expected)
    assert (again.claims_scrubbed, again.recovery_items) == (0, 0)
    assert (again.created_users, again.totp_uri, again.portal_credential) == ([], None, None)
    assert [c.name for c in list_credentials(any_ctx, demo.organization_id)] == ["portal_login"]
    assert len(requests.list_requests(any_ctx, specialist)) == expected
    # Only the list just above is new in the audit trail: the second load changed nothing.
    assert len(events_for(any_ctx, specialist.organization_id, limit=100_000)) == audited + 1


def test_production_refuses_the_demo_and_creates_nothing(ctx: Context) -> None:
    ctx.settings = ctx.settings.model_copy(update={"env": "production"})

    with pytest.raises(PermissionDenied) as refused:
        load_demo(ctx)

    assert "refused in production" in refused.value.message
    with ctx.uow() as uow:
        from precert.store.accounts import UserRepository

        assert UserRepository(uow.session).by_email(TOTP_USER) is None


def test_with_a_fax_identity_the_demo_faxes_where_the_payer_takes_faxes(ctx: Context) -> None:
    """make run sets a fax identity: the demo's submissions to payers with a fax line go through
    the real fax channel, leaving packets in the outbox and minutes saved on the dashboard."""
    ctx.settings = ctx.settings.model_copy(
        update={"fax_sender_phone": "555-555-0100", "fax_sender_number": "555-555-0199"}
    )
    load_demo(ctx)
    specialist = actor_by_email(ctx, TOTP_USER)
    faxed, by_hand = [], []
    for request in requests.list_requests(ctx, specialist):
        for event in requests.get_request(ctx, specialist, request.id).timeline:
            if event.kind == "submit":
                sent_by = event.data.get("channel")
                (faxed if sent_by == "fax" else by_hand).append(request.coverage.payer_id)
    # Medicare's pack names no fax number (each contractor has its own): a person submits there.
    assert faxed and "medicare" not in faxed
    assert "medicare" in by_hand
    packets = sorted((ctx.settings.data_dir / "fax-outbox").rglob("*.pdf"))
    assert len(packets) == len(faxed)
    assert dashboard(ctx, specialist).minutes_saved > 0
