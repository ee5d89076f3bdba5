"""POST /api/v1/requirements/check over real HTTP: answers in order, pairing, and every error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

CHECK = "/api/v1/requirements/check"
PAYER = "web-test-payer"
ERROR_KEYS = {"error", "message", "issues", "retryable"}


def check(http: httpx.Client, body: Any) -> httpx.Response:
    return http.post(CHECK, json=body)


def service(code: str, **fields: Any) -> dict[str, Any]:
    return {"payer": PAYER, "code": code, "date": "2026-12-01", **fields}


def issue_at(response: httpx.Response, location: str) -> str:
    """The message of the issue at `location`, after checking the one error shape."""
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["retryable"] is False
    by_location = {issue["location"]: issue["message"] for issue in body["issues"]}
    assert location in by_location, f"no issue at {location}: {body['issues']}"
    return by_location[location]


def test_several_services_are_answered_in_order_in_the_stable_json_shape(
    http: httpx.Client,
) -> None:
    body = [
        service("70551", pos="22"),
        service("59400", plan="medicaid"),
        service("12345"),
    ]

    response = check(http, body)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert list(answer) == ["services"]
    assert [s["code"] for s in answer["services"]] == ["70551", "59400", "12345"]
    assert [s["decision"] for s in answer["services"]] == ["required", "notification", "unknown"]
    assert answer["services"][0] == {
        "code": "70551",
        "payer": PAYER,
        "date": "2026-12-01",
        "decision": "required",
        "processes": [
            {"term": "preauthorization", "reviews": "medical_necessity", "rule": "wtp-mri-brain"}
        ],
        "documents": ["Clinical notes from the last 60 days", "Prior imaging reports"],
        "channels": [
            {"type": "portal", "address": "https://portal.web-test-payer.example/auth"},
            {"type": "fax", "address": "+1-555-0101"},
        ],
        "turnaround": {"standard": "7 calendar days", "expedited": "72 hours"},
        "matched_rules": [
            {"id": "wtp-mri-brain", "source": "https://web-test-payer.example/lists/imaging"}
        ],
        "reasons": [
            "Preauthorization required (reviews medical necessity): MRI of the brain "
            "[wtp-mri-brain]."
        ],
    }


def test_an_unlisted_code_is_unknown_and_says_to_verify_with_the_payer(http: httpx.Client) -> None:
    answer = check(http, [service("12345")]).json()["services"][0]

    assert answer["decision"] == "unknown"
    assert answer["reasons"] == [
        "No rule in the Web Test Health (synthetic) pack covers 12345 on 2026-12-01: "
        "verify with the payer."
    ]
    assert answer["channels"] == [
        {"type": "phone", "address": "+1-555-0100", "note": "provider services"}
    ]


def test_an_inpatient_knee_replacement_needs_both_precertification_and_preauthorization(
    http: httpx.Client,
) -> None:
    answer = check(http, [service("27447", setting="inpatient")]).json()["services"][0]

    assert answer["decision"] == "required"
    assert [(p["term"], p["reviews"]) for p in answer["processes"]] == [
        ("precertification", "coverage"),
        ("preauthorization", "medical_necessity"),
    ]


def test_the_date_of_service_defaults_to_today(http: httpx.Client) -> None:
    answer = check(http, [{"payer": PAYER, "code": "70551"}]).json()["services"][0]

    assert answer["date"] == "2026-11-23"


def test_codes_in_one_encounter_satisfy_a_pairing_rule(http: httpx.Client) -> None:
    body = [
        service("64612", pos="22", encounter="visit-1"),
        service("J0585", pos="22", encounter="visit-1"),
    ]

    answers = check(http, body).json()["services"]

    assert answers[1]["code"] == "J0585"
    assert answers[1]["decision"] == "required"
    assert answers[1]["matched_rules"][0]["id"] == "wtp-botulinum-toxin"


def test_a_numbered_encounter_groups_services_like_a_named_one(http: httpx.Client) -> None:
    body = [service("J0585", pos="22", encounter=7), service("64615", pos="22", encounter=7)]

    answers = check(http, body).json()["services"]

    assert answers[0]["decision"] == "required"


def test_a_paired_drug_without_an_encounter_is_conditional_on_the_codes_billed_with_it(
    http: httpx.Client,
) -> None:
    answers = check(http, [service("J0585", pos="22"), service("64612", pos="22")]).json()

    drug = answers["services"][0]
    assert drug["decision"] == "conditional"
    assert drug["reasons"][0].startswith(
        "Depends on the codes billed with it (it applies only with 64612 or 64615)"
    )


def test_a_paired_drug_billed_without_its_procedure_says_why_the_rule_did_not_apply(
    http: httpx.Client,
) -> None:
    body = [service("J0585", pos="22", encounter="a"), service("99213", pos="22", encounter="a")]

    drug = check(http, body).json()["services"][0]

    assert drug["decision"] == "unknown"
    assert (
        "Did not apply: Botulinum toxin with chemodenervation [wtp-botulinum-toxin]: it applies "
        "only when billed with 64612 or 64615; none is on this request." in drug["reasons"]
    )


def test_diagnoses_may_be_sent_as_dx(http: httpx.Client) -> None:
    response = check(http, [service("70551", dx=["M17.11"]), service("70552", diagnoses=[])])

    assert response.status_code == 200


# -- values the service refuses: 422, every problem located by JSON path -------------------------


@pytest.mark.parametrize(
    ("fields", "location", "expected"),
    [
        ({"code": "7055x"}, "[0].code", "[0].code: '7055x' is not valid; expected a CPT code"),
        (
            {"pos": "99x"},
            "[0].pos",
            "[0].pos: '99x' is not valid; expected a two-digit CMS place-of-service code",
        ),
        (
            {"state": "XX"},
            "[0].state",
            "[0].state: 'XX' is not valid; expected a two-letter US state or territory code",
        ),
        (
            {"date": "2026-02-30"},
            "[0].date",
            "[0].date: '2026-02-30' is not valid; expected a date written YYYY-MM-DD",
        ),
        (
            {"plan": "gold"},
            "[0].plan",
            "[0].plan: 'gold' is not a plan of payer 'web-test-payer'; "
            "its plans are commercial, medicaid",
        ),
        (
            {"setting": "beach"},
            "[0].setting",
            "[0].setting: 'beach' is not a care setting; use inpatient, outpatient",
        ),
        ({"network": "maybe"}, "[0].network", "[0].network: 'maybe' is not valid; use in or out"),
        (
            {"diagnoses": ["Q99.999"]},
            "[0].diagnoses[0]",
            "[0].diagnoses[0]: 'Q99.999' is not an ICD-10-CM code",
        ),
        (
            {"units": 0},
            "[0].units",
            "[0].units: 0 is not valid; expected a whole number of units or visits",
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_the_field_the_value_and_what_is_accepted(
    http: httpx.Client, fields: dict[str, Any], location: str, expected: str
) -> None:
    response = check(http, [{**service("70551", pos="22"), **fields}])

    assert response.status_code == 422
    assert response.json()["error"] == "InvalidInput"
    assert issue_at(response, location).startswith(expected)


def test_an_unknown_payer_is_refused_with_the_closest_configured_ids(http: httpx.Client) -> None:
    response = check(http, [{"payer": "web-test-payr", "code": "70551"}])

    assert response.status_code == 422
    message = issue_at(response, "[0].payer")
    assert message.startswith(
        "[0].payer: no payer 'web-test-payr' is configured. Did you mean web-test-payer"
    )


def test_every_problem_in_the_list_is_reported_and_nothing_is_answered(
    http: httpx.Client,
) -> None:
    body = [service("70551"), service("bad"), service("70552", state="ZZ"), service("70553")]

    response = check(http, body)

    assert response.status_code == 422
    payload = response.json()
    assert "services" not in payload
    assert [i["location"] for i in payload["issues"]] == ["[1].code", "[2].state"]
    assert payload["message"].endswith("(and 1 more problem)")
    assert payload["message"].startswith("[1].code: 'bad' is not valid")


# -- bodies FastAPI refuses before the service: rendered in the same error shape ------------------


def test_an_unknown_key_is_refused_with_the_keys_that_are_accepted(http: httpx.Client) -> None:
    response = check(http, [service("70551", patient="x")])

    assert response.status_code == 422
    assert issue_at(response, "[0].patient") == (
        "[0].patient: unknown field; use payer, plan, code, pos, setting, state, date, units, "
        "diagnoses, network, age, encounter, dx"
    )


@pytest.mark.parametrize(
    ("fields", "location", "expected"),
    [
        (
            {"code": 70551},
            "[0].code",
            '[0].code: expected text in quotes such as "64612"; got the number 70551',
        ),
        (
            {"pos": 22},
            "[0].pos",
            '[0].pos: expected text in quotes such as "22"; got the number 22',
        ),
        (
            {"units": "many"},
            "[0].units",
            "[0].units: expected a whole number such as 3; got the text 'many'",
        ),
        (
            {"diagnoses": "M17.11"},
            "[0].diagnoses",
            '[0].diagnoses: expected a list such as ["M17.11", "G47.33"]; got the text \'M17.11\'',
        ),
        (
            {"encounter": True},
            "[0].encounter",
            '[0].encounter: expected text in quotes such as "visit-1"; got the boolean true',
        ),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_saying_what_was_expected(
    http: httpx.Client, fields: dict[str, Any], location: str, expected: str
) -> None:
    response = check(http, [{**service("70551"), **fields}])

    assert response.status_code == 422
    assert issue_at(response, location) == expected


def test_a_service_without_a_payer_is_refused(http: httpx.Client) -> None:
    response = check(http, [{"code": "70551"}])

    assert response.status_code == 422
    assert issue_at(response, "[0].payer") == "[0].payer: this field is required"


def test_a_list_item_that_is_not_an_object_is_refused(http: httpx.Client) -> None:
    response = check(http, [service("70551"), "70552"])

    assert response.status_code == 422
    assert issue_at(response, "[1]").startswith(
        '[1]: each service is a JSON object such as {"payer": "medicare", "code": "64612"}'
    )


def test_malformed_json_is_refused_with_where_it_broke(http: httpx.Client) -> None:
    response = http.post(
        CHECK, content=b'[{"payer": "web-test-payer",', headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    message = issue_at(response, "body")
    assert message.startswith("body: the request body is not valid JSON (")
    assert "at character 28" in message
    assert response.json()["message"] == message


def test_a_body_sent_without_the_json_content_type_is_refused_saying_so(
    http: httpx.Client,
) -> None:
    response = http.post(CHECK, content=b'[{"payer": "web-test-payer", "code": "70551"}]')

    assert response.status_code == 422
    assert "sent with Content-Type: application/json" in issue_at(response, "body")


def test_a_single_object_instead_of_a_list_is_refused(http: httpx.Client) -> None:
    response = check(http, service("70551"))

    assert response.status_code == 422
    assert issue_at(response, "body").startswith("body: expected a JSON list of services")
    assert issue_at(response, "body").endswith("got an object")


def test_an_empty_list_is_refused(http: httpx.Client) -> None:
    response = check(http, [])

    assert response.status_code == 422
    assert issue_at(response, "body") == "body: the list is empty; send at least one service"


def test_more_than_a_thousand_services_in_one_request_are_refused(http: httpx.Client) -> None:
    response = check(http, [service("70551")] * 1001)

    assert response.status_code == 422
    assert issue_at(response, "body") == (
        "body: 1001 services in one request; send at most 1000 and split larger batches"
    )


def test_a_thousand_services_are_answered(http: httpx.Client) -> None:
    response = check(http, [service("70551", pos="22")] * 1000)

    assert response.status_code == 200
    assert len(response.json()["services"]) == 1000


def test_the_check_endpoint_only_accepts_post(http: httpx.Client) -> None:
    response = http.get(CHECK)

    assert response.status_code == 405
    assert response.json() == {
        "error": "MethodNotAllowed",
        "message": "GET is not allowed on /api/v1/requirements/check; use POST.",
        "issues": [],
        "retryable": False,
    }
