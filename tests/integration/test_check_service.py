"""check_services, the one use case behind the CLI, batch, API and web page, through a real
context on SQLite and on PostgreSQL: raw services in, answers out, or every problem at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from precert.domain.rules import Decision
from precert.errors import InvalidInput
from precert.services.catalog import import_pack
from precert.services.context import Context
from precert.services.requirements import FIELDS, check_services

PACK = """\
precert-pack: 1
payer: {id: check-test, name: Check Test Health, synthetic: true, plans: [commercial, medicaid]}
version: "1"
source: written for the check-service tests
rules:
  - id: check-botox-paired
    name: Botulinum toxin with chemodenervation
    codes: [J0585-J0588]
    pos: ["19", "22"]
    when: {with_codes: ["64612", "64615"]}
  - id: check-mri
    name: MRI brain
    codes: ["70551"]
    term: preauthorization
    states: [TX]
    effective_from: 2026-01-01
  - id: check-knee-oa
    name: Knee arthroscopy for osteoarthritis
    codes: ["29877"]
    when: {diagnoses_any: [M17]}
"""


@pytest.fixture
def checked(any_ctx: Context, tmp_path: Path) -> Context:
    path = tmp_path / "check-test.yaml"
    path.write_text(PACK, "utf-8")
    import_pack(any_ctx, path)
    return any_ctx


def service(**fields: Any) -> dict[str, Any]:
    return {"payer": "check-test", "date": "2026-11-23", **fields}


def test_every_service_is_answered_in_the_order_given(checked: Context) -> None:
    answers = check_services(
        checked,
        [
            service(code="70551", state="TX"),
            service(code="70551", state="CA"),
            service(code="99213"),
        ],
    )

    assert [(a.code, a.decision) for a in answers] == [
        ("70551", Decision.REQUIRED),
        ("70551", Decision.UNKNOWN),
        ("99213", Decision.UNKNOWN),
    ]
    assert answers[0].matched_rules == [
        {"id": "check-mri", "source": "written for the check-service tests"}
    ]


def test_raw_text_is_normalised_before_it_is_checked(checked: Context) -> None:
    [answer] = check_services(
        checked,
        [
            {
                "payer": " Check-Test ",
                "code": "j0585",
                "pos": "22",
                "encounter": "e1",
                "date": "2026-11-23",
            }
        ],
    )

    assert (answer.payer_id, answer.code) == ("check-test", "J0585")


def test_a_service_without_a_date_is_checked_for_today(checked: Context) -> None:
    [answer] = check_services(checked, [{"payer": "check-test", "code": "70551", "state": "tx"}])

    assert answer.date == dt.date(2026, 11, 23)
    assert answer.decision is Decision.REQUIRED


def test_services_of_one_encounter_see_each_other_for_pairing_rules(checked: Context) -> None:
    answers = check_services(
        checked,
        [
            service(code="J0585", pos="22", encounter="visit-1"),
            service(code="64612", pos="22", encounter="visit-1"),
            service(code="J0585", pos="22", encounter="visit-2"),
            service(code="J0585", pos="22"),
        ],
    )

    assert [a.decision for a in answers] == [
        Decision.REQUIRED,  # billed with 64612
        Decision.UNKNOWN,  # 64612 itself is not listed
        Decision.UNKNOWN,  # known to be billed alone
        Decision.CONDITIONAL,  # nothing said about what is billed with it
    ]
    assert answers[2].reasons[0] == (
        "Did not apply: Botulinum toxin with chemodenervation [check-botox-paired]: it applies "
        "only when billed with 64612 or 64615; none is on this request."
    )


def test_diagnoses_are_validated_normalised_and_matched_by_prefix(checked: Context) -> None:
    answers = check_services(
        checked,
        [service(code="29877", diagnoses="m1711; G47.33"), service(code="29877", dx=["E11.9"])],
    )

    assert [a.decision for a in answers] == [Decision.REQUIRED, Decision.UNKNOWN]


def test_every_problem_in_every_service_is_reported_with_its_location_and_nothing_answered(
    checked: Context,
) -> None:
    items = [
        service(code="7055", pos="98"),
        service(code="70551", state="XX", date="2026-02-30", units="0"),
        service(code="70551", plan="gold", network="maybe", age="200", diagnoses="Z99.99"),
        {"code": "70551", "colour": "red"},
        service(code="70551", pos="11", setting="inpatient"),
    ]

    with pytest.raises(InvalidInput) as refused:
        check_services(checked, items)

    issues = refused.value.issues
    assert [i.location for i in issues] == [
        "services[0].code",
        "services[0].pos",
        "services[1].state",
        "services[1].date",
        "services[1].units",
        "services[2].plan",
        "services[2].age",
        "services[2].network",
        "services[2].diagnoses[0]",
        "services[3].colour",
        "services[3].payer",
        "services[4].setting",
    ]
    messages = {i.location: i.message for i in issues}
    assert messages["services[1].state"] == (
        "services[1].state: 'XX' is not valid; expected a two-letter US state or territory code "
        "such as TX."
    )
    assert messages["services[2].plan"] == (
        "services[2].plan: 'gold' is not a plan of payer 'check-test'; its plans are commercial, "
        "medicaid"
    )
    assert messages["services[3].colour"] == (
        f"services[3].colour: unknown field; use {', '.join(FIELDS)}"
    )
    assert messages["services[3].payer"] == "services[3].payer: the payer id is required"
    assert messages["services[4].setting"] == (
        "services[4].setting: 'inpatient' does not match POS 11 (Office); give one of them, or "
        "make them agree"
    )
    assert refused.value.message == (
        "services[0].code: '7055' is not valid; expected a CPT code (5 digits such as 70551, or 4 "
        "digits + F/T such as 0042T) or a HCPCS Level II code (a letter A-V and 4 digits such as "
        "J0585). (and 11 more problems)"
    )


def test_a_service_without_a_code_says_a_code_is_required(checked: Context) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_services(checked, [{"payer": "check-test"}])

    assert [i.message for i in refused.value.issues] == [
        "services[0].code: a CPT or HCPCS code is required"
    ]


def test_an_unconfigured_payer_is_refused_naming_it_and_suggesting_close_ids(
    checked: Context,
) -> None:
    configured = len(checked.rulebook().payer_ids)

    with pytest.raises(InvalidInput) as refused:
        check_services(checked, [service(code="70551"), {"payer": "check-tset", "code": "70551"}])

    [issue] = refused.value.issues
    assert issue.code == "unknown-payer"
    assert issue.location == "services[1].payer"
    assert issue.message.startswith(
        "services[1].payer: no payer 'check-tset' is configured. Did you mean check-test? "
    )
    assert f"{configured} payers are configured" in issue.message


def test_the_caller_chooses_how_locations_are_written(checked: Context) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_services(
            checked,
            [service(code="70551"), service(code="70551", state="ZZ")],
            locate=lambda index, name: f"row {index + 2}, column {name}",
        )

    assert [i.location for i in refused.value.issues] == ["row 3, column state"]
