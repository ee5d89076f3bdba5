"""The API on the shipped Medicare FFS pack: the hospital OPD list applies only at POS 19 or 22."""

from __future__ import annotations

import httpx

CHECK = "/api/v1/requirements/check"


def medicare(code: str, **fields: str) -> dict[str, str]:
    return {"payer": "medicare", "code": code, "date": "2026-12-01", **fields}


def test_blepharoplasty_in_a_hospital_outpatient_department_needs_prior_authorization(
    http: httpx.Client,
) -> None:
    answer = http.post(CHECK, json=[medicare("15823", pos="22")]).json()["services"][0]

    assert answer["decision"] == "required"
    assert answer["processes"][0]["term"] == "prior authorization"
    assert answer["matched_rules"][0]["source"].startswith("https://")


def test_blepharoplasty_at_an_ambulatory_surgical_center_is_not_required_because_of_the_pos(
    http: httpx.Client,
) -> None:
    answer = http.post(CHECK, json=[medicare("15823", pos="24")]).json()["services"][0]

    assert answer["decision"] == "not_required"
    assert any(
        "it applies only at POS 19 (Off Campus-Outpatient Hospital) or 22 (On Campus-Outpatient "
        "Hospital); this service is at POS 24 (Ambulatory Surgical Center)" in reason
        for reason in answer["reasons"]
    )


def test_botulinum_toxin_needs_prior_authorization_only_with_its_paired_procedure(
    http: httpx.Client,
) -> None:
    body = [
        medicare("64612", pos="22", encounter="1"),
        medicare("J0585", pos="22", encounter="1"),
        medicare("J0585", pos="22", encounter="2"),
        medicare("99213", pos="22", encounter="2"),
    ]

    answers = http.post(CHECK, json=body).json()["services"]

    assert [a["decision"] for a in answers] == [
        "required",
        "required",
        "not_required",
        "not_required",
    ]
