"""The request repository on SQLite and PostgreSQL: round trip, ciphertext at rest, tenant scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Status,
    TimelineEvent,
)
from precert.errors import NotFound
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.services.accounts import create_organization
from precert.services.context import Context
from precert.store.requests import AuthorizationRequestRecord, RequestRepository

AT = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


def _request(organization_id: str, request_id: str = "req-1") -> AuthorizationRequest:
    return AuthorizationRequest(
        id=request_id,
        organization_id=organization_id,
        patient=Patient("Testpatient", "Beta", dt.date(1975, 6, 30), "TEST-777"),
        coverage=Coverage("medicare", "medicare-ffs", "TEST-777", "GRP-9"),
        ordering_npi="1234567893",
        rendering_npi="1234567893",
        lines=(
            ServiceLine(
                "15823", 1, dt.date(2026, 12, 10), dt.date(2026, 12, 10), "22", ("H02.831",)
            ),
            ServiceLine("67900", 2, dt.date(2026, 12, 10), dt.date(2026, 12, 11)),
        ),
        created_at=AT,
        updated_at=AT,
        requirement=({"code": "15823", "decision": "required"},),
    )


def _repo(ctx: Context, session: object) -> RequestRepository:
    return RequestRepository(
        session,  # type: ignore[arg-type]
        FieldCipher.from_settings(ctx.settings),
        BlindIndex.from_settings(ctx.settings),
    )


def test_a_request_round_trips_with_its_lines_and_timeline(any_ctx: Context) -> None:
    org = create_organization(any_ctx, "Store Clinic")
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        repo.add(_request(org), state="TX", next_action_at=AT)
        event = TimelineEvent(AT, "a@example.org", "created", Status.DRAFT, Status.DRAFT, "", {})
        repo.add_event(org, "req-1", event)
        uow.commit()
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        loaded = repo.get(org, "req-1")
        assert loaded == _request(org)
        assert repo.timeline(org, "req-1") == [event]
        assert repo.next_action_at(org, "req-1") == AT


def test_patient_and_coverage_columns_hold_ciphertext_bound_to_the_organization(
    any_ctx: Context,
) -> None:
    org = create_organization(any_ctx, "Cipher Clinic")
    with any_ctx.uow() as uow:
        _repo(any_ctx, uow.session).add(_request(org))
        uow.commit()
    with any_ctx.uow() as uow:
        row = uow.session.scalars(select(AuthorizationRequestRecord)).one()
        stored = [row.patient_first_name, row.patient_last_name, row.patient_birth_date]
        stored += [row.member_id, row.group_number or ""]
        assert all(value.startswith("v1.") for value in stored)
        assert not {"Testpatient", "Beta", "1975-06-30", "TEST-777", "GRP-9"} & set(stored)
        assert "TEST-777" not in row.member_id_index and len(row.member_id_index) == 64
        assert "Beta" not in repr(row)


def test_another_organization_gets_not_found_for_every_method(any_ctx: Context) -> None:
    org = create_organization(any_ctx, "Owner Clinic")
    other = create_organization(any_ctx, "Other Clinic")
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        repo.add(_request(org))
        uow.commit()
    event = TimelineEvent(AT, "b@example.org", "cancel", Status.DRAFT, Status.CANCELLED)
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        for attempt in (
            lambda: repo.get(other, "req-1"),
            lambda: repo.timeline(other, "req-1"),
            lambda: repo.add_event(other, "req-1", event),
            lambda: repo.save(_request(other), next_action_at=None),
        ):
            with pytest.raises(NotFound) as refused:
                attempt()
            assert "in your organization" in refused.value.message
        assert repo.search(other) == []
        assert repo.search(other, member_id="TEST-777") == []
        assert [r.id for r in repo.search(org, member_id="test 777")] == ["req-1"]


def test_an_idempotency_key_is_unique_within_an_organization_only(any_ctx: Context) -> None:
    first = create_organization(any_ctx, "Key Clinic One")
    second = create_organization(any_ctx, "Key Clinic Two")
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        repo.add(_request(first, "req-a"), idempotency_key="import-1")
        repo.add(_request(second, "req-b"), idempotency_key="import-1")
        uow.commit()
    with any_ctx.uow() as uow:
        repo = _repo(any_ctx, uow.session)
        found = repo.by_idempotency_key(first, "import-1")
        assert found is not None and found.id == "req-a"
        assert repo.by_idempotency_key(first, "import-2") is None
