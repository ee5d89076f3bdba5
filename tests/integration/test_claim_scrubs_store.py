"""Kept claim scrubs on SQLite and PostgreSQL: keep a real scrub, list it newest first, open it
(result, corrected 837) only from its own organization, and nothing readable at rest: the raw
row holds no member id, no claim text and not the uploaded filename; the plain findings summary
(by kind, by payer and kind) is summed per organization over a period without decrypting."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import cast

import pytest
from sqlalchemy import text
from tests.integration.web.test_web_claims import derived_837

from precert.domain.claims import AuthorizationRecord, AuthorizationStatus
from precert.errors import NotFound
from precert.security.crypto import DecryptionFailed, FieldCipher
from precert.services import accounts
from precert.services.authorization_records import OrganizationActor
from precert.services.claims_scrub import keep, scrub, scrub_detail, scrubs_page
from precert.services.context import Context
from precert.store.claim_scrubs import ClaimScrubRepository

MEMBER = "TEST-STORE-3"
FILENAME = "Alpha Testpatient batch.837"  # a name a biller might give: it names a patient
START = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def authorization(member_id: str = MEMBER) -> AuthorizationRecord:
    return AuthorizationRecord(
        number="AUTH-STORE-1",
        payer_id="medicare",
        member_id=member_id,
        status=AuthorizationStatus.APPROVED,
        codes=frozenset({"15823"}),
        valid_from=dt.date(2026, 12, 1),
        valid_to=dt.date(2026, 12, 31),
        source="import",
    )


def stepping(ctx: Context) -> None:
    """A fixed clock a minute later at every reading, so newest-first is a real order."""
    moments = iter(START + dt.timedelta(minutes=n) for n in range(10_000))
    ctx.now = lambda: next(moments)


def actors(ctx: Context) -> tuple[OrganizationActor, OrganizationActor]:
    north = accounts.create_organization(ctx, "North Store")
    south = accounts.create_organization(ctx, "South Store")
    return OrganizationActor(north, "biller@north.example.org"), OrganizationActor(south, "cli")


def kept_scrub(ctx: Context, actor: OrganizationActor, name: str = FILENAME) -> str:
    claims = derived_837(MEMBER)
    report = scrub(ctx, actor, claims, extra=[authorization()], fix=True)
    assert report.corrected is not None  # the line lacks only its number
    return keep(ctx, actor, name, hashlib.sha256(claims.encode()).hexdigest(), report)


def test_a_kept_scrub_is_listed_and_opened_with_its_result_and_corrected_837(
    any_ctx: Context,
) -> None:
    stepping(any_ctx)
    north, _ = actors(any_ctx)
    first = kept_scrub(any_ctx, north, "first.837")
    second = kept_scrub(any_ctx, north, "C:\\billing\\exports\\second.837")

    listed = scrubs_page(any_ctx, north)
    assert [s.id for s in listed] == [second, first]
    newest = listed[0]
    assert newest.filename == "second.837"  # the browser's folders are dropped
    assert newest.actor == "biller@north.example.org"
    assert newest.sha256 == hashlib.sha256(derived_837(MEMBER).encode()).hexdigest()
    assert newest.has_corrected is True
    counts = newest.counts
    assert (counts.claims, counts.lines, counts.fixable, counts.unreadable) == (1, 4, 1, 0)
    assert counts.errors >= 1 and counts.clean_lines < counts.lines

    detail = scrub_detail(any_ctx, north, first)
    assert detail["filename"] == "first.837"
    assert detail["counts"] == counts.as_dict()
    claim = detail["result"]["claims"][0]
    assert claim["member_id"] == MEMBER
    line = next(ln for ln in claim["lines"] if ln["code"] == "15823")
    assert [f["kind"] for f in line["findings"]] == ["number_missing_on_claim"]
    assert "REF*G1*AUTH-STORE-1~" in detail["corrected_837"]


def test_another_organization_neither_lists_nor_opens_it(any_ctx: Context) -> None:
    north, south = actors(any_ctx)
    made = kept_scrub(any_ctx, north)
    assert scrubs_page(any_ctx, south) == []
    with pytest.raises(NotFound) as refused:
        scrub_detail(any_ctx, south, made)
    assert MEMBER not in str(refused.value) and made in refused.value.message


def test_nothing_readable_is_at_rest(any_ctx: Context) -> None:
    north, _ = actors(any_ctx)
    made = kept_scrub(any_ctx, north)
    with any_ctx.engine.connect() as connection:
        row = (
            connection.execute(text("SELECT * FROM claim_scrubs WHERE id = :id"), {"id": made})
            .mappings()
            .one()
        )
    raw = " ".join(str(value) for value in row.values())
    for secret in (MEMBER, "Testpatient", "AUTH-STORE-1", "26463774", "NM1*", "15823"):
        assert secret not in raw
    assert row["filename"].startswith("v1.") and row["result"].startswith("v1.")
    assert row["corrected"].startswith("v1.")
    assert row["claims"] == 1 and row["lines"] == 4  # the counts the list shows stay plain
    # The findings summary stays plain too: kinds and payer ids only.
    summary = row["findings"] if isinstance(row["findings"], dict) else json.loads(row["findings"])
    assert summary["by_payer"] == {"medicare": {"number_missing_on_claim": 1}}
    assert summary["by_kind"]["number_missing_on_claim"] == 1


def test_totals_sum_one_organizations_scrubs_since_a_moment(any_ctx: Context) -> None:
    stepping(any_ctx)  # START, then a minute later at every reading
    north, south = actors(any_ctx)
    kept_scrub(any_ctx, north)
    kept_scrub(any_ctx, north)
    kept_scrub(any_ctx, north)
    kept_scrub(any_ctx, south)
    newest = scrubs_page(any_ctx, north)
    since = newest[1].scrubbed_at  # the two newest of North's three
    with any_ctx.uow() as uow:
        # A cipher that cannot open anything: the totals must not need one.
        repository = ClaimScrubRepository(uow.session, cast(FieldCipher, None))
        totals = repository.totals_since(north.organization_id, since)
        everything = repository.totals_since(south.organization_id, START)
    assert (totals.scrubs, totals.lines, totals.lines_with_findings) == (2, 8, 2)
    assert totals.findings.by_payer == {"medicare": {"number_missing_on_claim": 2}}
    assert totals.findings.by_kind["number_missing_on_claim"] == 2
    assert (everything.scrubs, everything.lines) == (1, 4)


def test_a_sealed_value_moved_to_another_organizations_row_does_not_open(
    any_ctx: Context,
) -> None:
    north, south = actors(any_ctx)
    theirs = kept_scrub(any_ctx, north)
    ours = kept_scrub(any_ctx, south)
    with any_ctx.engine.begin() as connection:
        sealed = connection.execute(
            text("SELECT result FROM claim_scrubs WHERE id = :id"), {"id": theirs}
        ).scalar_one()
        connection.execute(
            text("UPDATE claim_scrubs SET result = :sealed WHERE id = :id"),
            {"sealed": sealed, "id": ours},
        )
    with pytest.raises(DecryptionFailed):
        scrub_detail(any_ctx, south, ours)
