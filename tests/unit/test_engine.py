"""The engine's semantics: which rule wins, when the answer is conditional, and every reason given.

Each test writes a small pack inline (YAML, through the real loader), builds a RuleBook and asks
about one Service. Reasons are asserted as whole sentences: they are what a specialist reads.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

import pytest

from precert.domain.packs import parse_pack
from precert.domain.requirements import Requirement, RuleBook, Service
from precert.domain.rules import Decision

DAY = dt.date(2026, 11, 23)

PACK_HEAD = """\
precert-pack: 1
payer:
  id: acme
  name: Acme Health
  plans: {plans}
  contact:
    - {{type: phone, address: "(312) 555-0140"}}
version: "2026.11"
source: Acme provider manual
{default}
rules:
"""


def rulebook(rules: str, *, plans: str = "[commercial]", default: str = "") -> RuleBook:
    head = PACK_HEAD.format(plans=plans, default=default)
    return RuleBook([parse_pack(head + textwrap.indent(textwrap.dedent(rules), "  "), "acme.yaml")])


def check(book: RuleBook, code: str = "70551", **facts: Any) -> Requirement:
    facts.setdefault("date", DAY)
    if "companions" in facts and facts["companions"] is not None:
        facts["companions"] = frozenset(facts["companions"])
    return book.requirement_for(Service("acme", code, **facts))


MRI = """\
- id: mri-brain
  name: MRI brain
  codes: [70551-70553]
  term: preauthorization
"""


# -- which outcome wins ---------------------------------------------------------------------------


PRECEDENCE = """\
- id: not-needed
  name: Listed as not needing approval
  codes: ["70551"]
  outcome: not_required
- id: tell-us
  name: Tell us about the scan
  codes: ["70551"]
  outcome: notification
- id: approve-first
  name: Approve the scan first
  codes: ["70551"]
  term: preauthorization
"""


def test_a_required_rule_outweighs_notification_and_not_required_rules_for_the_same_code() -> None:
    answer = check(rulebook(PRECEDENCE))

    assert answer.decision is Decision.REQUIRED
    assert [m["id"] for m in answer.matched_rules] == ["not-needed", "tell-us", "approve-first"]
    assert answer.reasons == [
        "Not required: Listed as not needing approval [not-needed].",
        "Notification required (notification only, no approval): Tell us about the scan [tell-us].",
        "Preauthorization required (reviews medical necessity): Approve the scan first "
        "[approve-first].",
    ]


def test_notification_outweighs_not_required() -> None:
    answer = check(rulebook(PRECEDENCE.rsplit("- id: approve-first", 1)[0]))

    assert answer.decision is Decision.NOTIFICATION
    assert answer.processes == [{"term": "notification", "reviews": "coverage", "rule": "tell-us"}]


def test_a_not_required_rule_outweighs_the_pack_default_of_unknown() -> None:
    answer = check(rulebook(PRECEDENCE.split("- id: tell-us", 1)[0]))

    assert answer.decision is Decision.NOT_REQUIRED
    assert answer.processes == []
    assert answer.channels == []
    assert answer.reasons == ["Not required: Listed as not needing approval [not-needed]."]


def test_a_code_no_rule_lists_is_unknown_and_points_to_the_payer_contact() -> None:
    answer = check(rulebook(MRI), "99213")

    assert answer.decision is Decision.UNKNOWN
    assert answer.matched_rules == []
    assert answer.reasons == [
        "No rule in the Acme Health pack covers 99213 on 2026-11-23: verify with the payer."
    ]
    assert answer.channels == [{"type": "phone", "address": "(312) 555-0140"}]


def test_a_pack_whose_list_is_complete_answers_not_required_for_a_code_it_does_not_list() -> None:
    answer = check(rulebook(MRI, default="default: {decision: not_required}"), "99213")

    assert answer.decision is Decision.NOT_REQUIRED
    assert answer.reasons == ["No rule in the Acme Health pack lists 99213."]
    assert answer.channels == []


def test_the_pack_default_reason_is_filled_in_with_the_code_and_the_payer_name() -> None:
    default = (
        "default:\n  decision: not_required\n"
        "  reason: '{code} is not on the {payer} list: no prior authorization.'"
    )

    answer = check(rulebook(MRI, default=default), "99213")

    assert answer.reasons == ["99213 is not on the Acme Health list: no prior authorization."]


def test_a_payer_without_a_pack_is_unknown_and_says_to_verify_with_the_payer() -> None:
    answer = rulebook(MRI).requirement_for(Service("nobody-health", "70551", DAY))

    assert answer.decision is Decision.UNKNOWN
    assert answer.reasons == [
        "No rule pack is configured for payer 'nobody-health': verify with the payer."
    ]
    assert answer.as_dict()["payer"] == "nobody-health"


# -- conditional: a stronger rule depends on a fact not given -------------------------------------


PLANS = "[commercial, medicaid]"


def _required_when(filters: str) -> RuleBook:
    rule = "- id: strong\n  name: Strong rule\n  codes: ['70551']\n  term: preauthorization\n"
    return rulebook(rule + textwrap.indent(textwrap.dedent(filters), "  "), plans=PLANS)


MISSING_FACTS = [
    (
        "pos: ['19', '22']",
        {"pos": "22"},
        "the place of service (it applies only at POS 19 (Off Campus-Outpatient Hospital) "
        "or 22 (On Campus-Outpatient Hospital))",
    ),
    (
        "settings: [inpatient, asc]",
        {"setting": "asc"},
        "the care setting (it applies only in the asc or inpatient setting)",
    ),
    ("states: [TX, AZ, NJ]", {"state": "NJ"}, "the state (it applies in AZ, NJ and TX)"),
    ("plans: [medicaid]", {"plan": "medicaid"}, "the plan type (it applies to medicaid plans)"),
    (
        "when: {with_codes: ['64612', '64615']}",
        {"companions": ["64615"]},
        "the codes billed with it (it applies only with 64612 or 64615)",
    ),
    (
        "when: {diagnoses_any: [M17, G47.3]}",
        {"diagnoses": ("G47.33",)},
        "the diagnosis (it applies only with M17 or G47.3)",
    ),
    (
        "when: {diagnoses_none: [C50]}",
        {"diagnoses": ("M17.11",)},
        "the diagnosis (it does not apply with C50)",
    ),
    (
        "when: {units_over: 12}",
        {"units": 13},
        "the number of units or visits (it applies beyond 12)",
    ),
    ("when: {min_age: 18}", {"age": 18}, "the patient's age (it applies to ages 18 to any)"),
]


@pytest.mark.parametrize(("filters", "fact", "depends"), MISSING_FACTS)
def test_the_answer_is_conditional_when_the_rule_depends_on_a_fact_not_given(
    filters: str, fact: dict[str, Any], depends: str
) -> None:
    book = _required_when(filters)

    answer = check(book)

    assert answer.decision is Decision.CONDITIONAL
    assert answer.reasons[0] == (
        f"Depends on {depends}: Strong rule [strong] would make it preauthorization required "
        "(reviews medical necessity)."
    )
    assert answer.processes == [
        {
            "term": "preauthorization",
            "reviews": "medical_necessity",
            "rule": "strong",
            "condition": depends,
        }
    ]
    assert answer.matched_rules == []
    # ... and giving the fact settles it.
    assert check(book, **fact).decision is Decision.REQUIRED


def test_every_missing_fact_is_named_when_a_rule_depends_on_several() -> None:
    book = _required_when("states: [TX]\npos: ['22']")

    answer = check(book)

    assert answer.processes[0]["condition"] == (
        "the state (it applies in TX) and the place of service "
        "(it applies only at POS 22 (On Campus-Outpatient Hospital))"
    )


def test_a_weaker_certain_answer_becomes_conditional_when_a_stronger_rule_might_apply() -> None:
    book = rulebook(
        """\
        - id: tell-us
          name: Tell us
          codes: ['70551']
          outcome: notification
          channels: [{type: fax, address: '555-0100'}]
        - id: approve-outpatient
          name: Approve at the hospital
          codes: ['70551']
          pos: ['22']
          channels: [{type: portal, address: 'https://portal.example'}]
        """
    )

    answer = check(book)

    assert answer.decision is Decision.CONDITIONAL
    assert [p["rule"] for p in answer.processes] == ["tell-us", "approve-outpatient"]
    assert "condition" not in answer.processes[0]
    # The certain rule's channel stays first choice: it applies whatever the place of service.
    assert answer.channels == [{"type": "fax", "address": "555-0100"}]


def test_a_stronger_certain_answer_stays_certain_when_only_a_weaker_rule_depends_on_a_fact() -> (
    None
):
    book = rulebook(
        """\
        - id: approve
          name: Approve first
          codes: ['70551']
        - id: tell-us-in-texas
          name: Tell us in Texas
          codes: ['70551']
          outcome: notification
          states: [TX]
        """
    )

    answer = check(book)

    assert answer.decision is Decision.REQUIRED
    assert [p["rule"] for p in answer.processes] == ["approve"]
    assert answer.reasons[-1] == (
        "Depends on the state (it applies in TX): Tell us in Texas [tell-us-in-texas] would make "
        "it notification required (notification only, no approval)."
    )


def test_a_rule_that_would_make_it_not_required_lists_no_process_documents_or_channel() -> None:
    book = rulebook(
        """\
        - id: free-at-the-office
          name: No approval at the office
          codes: ['70551']
          pos: ['11']
          outcome: not_required
          documents: [nothing to send]
          channels: [{type: phone, address: '555-0199'}]
        - id: approve-at-the-hospital
          name: Approve at the hospital
          codes: ['70551']
          pos: ['22']
          documents: [order]
          channels: [{type: portal, address: 'https://portal.example'}]
        """
    )

    answer = check(book)

    assert answer.decision is Decision.CONDITIONAL
    assert [p["rule"] for p in answer.processes] == ["approve-at-the-hospital"]
    assert answer.documents == ["order"]
    assert answer.channels == [{"type": "portal", "address": "https://portal.example"}]
    assert answer.reasons[0].startswith("Depends on the place of service (it applies only at POS")
    assert answer.reasons[0].endswith("[free-at-the-office] would make it not required.")


def test_a_conditional_answer_takes_channels_from_the_strongest_rule_that_might_apply() -> None:
    book = rulebook(
        """\
        - id: tell-us-in-texas
          name: Tell us in Texas
          codes: ['70551']
          outcome: notification
          states: [TX]
          channels: [{type: fax, address: '555-0100'}]
          turnaround: {standard: 2 business days}
        - id: approve-at-the-hospital
          name: Approve at the hospital
          codes: ['70551']
          pos: ['22']
          channels: [{type: x12, address: 'ACME1'}]
          turnaround: {standard: 7 calendar days, expedited: 72 hours}
        """
    )

    answer = check(book)

    assert answer.decision is Decision.CONDITIONAL
    assert answer.channels == [{"type": "x12", "address": "ACME1"}]
    assert answer.turnaround == {"standard": "7 calendar days", "expedited": "72 hours"}


# -- places and settings: a rule written one way, a service described the other -------------------


OPD = """\
- id: opd
  name: Hospital outpatient department services
  codes: ['64612']
  pos: ['19', '22']
"""


def test_a_care_setting_inside_the_rule_s_places_of_service_settles_it() -> None:
    assert check(rulebook(OPD), "64612", setting="outpatient").decision is Decision.REQUIRED


def test_a_care_setting_only_partly_inside_the_rule_s_places_still_depends_on_the_pos() -> None:
    book = rulebook(OPD.replace("['19', '22']", "['22']"))

    answer = check(book, "64612", setting="outpatient")

    assert answer.decision is Decision.CONDITIONAL
    assert answer.processes[0]["condition"] == (
        "the place of service (it applies only at POS 22 (On Campus-Outpatient Hospital))"
    )


def test_a_care_setting_outside_the_rule_s_places_of_service_does_not_apply() -> None:
    answer = check(rulebook(OPD), "64612", setting="office")

    assert answer.decision is Decision.UNKNOWN
    assert answer.reasons[0] == (
        "Did not apply: Hospital outpatient department services [opd]: it applies only at POS "
        "19 (Off Campus-Outpatient Hospital) or 22 (On Campus-Outpatient Hospital); this service "
        "is in the office setting."
    )


SETTING_RULE = """\
- id: hopd
  name: Hospital outpatient imaging
  codes: ['70551']
  settings: [outpatient]
"""


def test_a_place_of_service_inside_the_rule_s_setting_settles_it() -> None:
    assert check(rulebook(SETTING_RULE), pos="19").decision is Decision.REQUIRED


def test_a_place_of_service_in_another_setting_does_not_apply() -> None:
    answer = check(rulebook(SETTING_RULE), pos="11")

    assert answer.reasons[0] == (
        "Did not apply: Hospital outpatient imaging [hopd]: it applies only in the outpatient "
        "setting; this service is at POS 11 (Office)."
    )


def test_a_place_of_service_that_belongs_to_no_setting_does_not_apply_to_a_setting_rule() -> None:
    answer = check(rulebook(SETTING_RULE), pos="81")

    assert answer.reasons[0] == (
        "Did not apply: Hospital outpatient imaging [hopd]: it applies only in the outpatient "
        "setting; POS 81 (Independent Laboratory) is none of them."
    )


def test_a_setting_given_directly_that_the_rule_does_not_name_does_not_apply() -> None:
    answer = check(rulebook(SETTING_RULE), setting="asc")

    assert answer.reasons[0] == (
        "Did not apply: Hospital outpatient imaging [hopd]: it applies only in the outpatient "
        "setting; this service is in the asc setting."
    )


# -- plans ----------------------------------------------------------------------------------------


def test_a_payer_with_one_plan_needs_no_plan_type_to_apply_a_plan_rule() -> None:
    book = rulebook(MRI + "  plans: [commercial]")

    assert check(book).decision is Decision.REQUIRED


def test_a_rule_for_every_plan_of_the_payer_needs_no_plan_type() -> None:
    book = rulebook(MRI + "  plans: [commercial, medicaid]", plans=PLANS)

    assert check(book).decision is Decision.REQUIRED


# -- several processes for one service ------------------------------------------------------------


TKA = """\
- id: inpatient-stay
  name: Inpatient admission
  codes: ['*']
  settings: [inpatient]
  term: precertification
  reviews: both
  documents: [admitting diagnosis, clinical notes]
  channels: [{type: portal, address: 'https://portal.example/precert'}]
  turnaround: {standard: 3 business days}
- id: knee-replacement
  name: Total knee replacement
  codes: ['27447']
  term: preauthorization
  documents: [clinical notes, imaging report]
  channels: [{type: fax, address: '555-0141'}]
- id: knee-replacement-notice
  name: Joint replacement case management notice
  codes: ['27447']
  term: preauthorization
  documents: [imaging report, discharge plan]
"""


def test_an_inpatient_knee_replacement_needs_both_the_stay_s_and_the_procedure_s_process() -> None:
    answer = check(rulebook(TKA), "27447", pos="21")

    assert answer.decision is Decision.REQUIRED
    # Rules listing the code come first, then rules for every code; one process per term.
    assert answer.processes == [
        {"term": "preauthorization", "reviews": "medical_necessity", "rule": "knee-replacement"},
        {"term": "precertification", "reviews": "both", "rule": "inpatient-stay"},
    ]
    assert answer.matched_rules == [
        {"id": "knee-replacement", "source": "Acme provider manual"},
        {"id": "knee-replacement-notice", "source": "Acme provider manual"},
        {"id": "inpatient-stay", "source": "Acme provider manual"},
    ]
    assert answer.reasons == [
        "Preauthorization required (reviews medical necessity): Total knee replacement "
        "[knee-replacement].",
        "Preauthorization required (reviews medical necessity): Joint replacement case "
        "management notice [knee-replacement-notice].",
        "Precertification required (reviews coverage and medical necessity): "
        "Inpatient admission [inpatient-stay].",
    ]


def test_documents_of_every_matched_rule_are_merged_in_order_without_repeats() -> None:
    answer = check(rulebook(TKA), "27447", pos="21")

    assert answer.documents == [
        "clinical notes",
        "imaging report",
        "discharge plan",
        "admitting diagnosis",
    ]


def test_the_same_knee_replacement_at_an_asc_needs_only_the_preauthorization() -> None:
    answer = check(rulebook(TKA), "27447", pos="24")

    assert [p["term"] for p in answer.processes] == ["preauthorization"]
    assert answer.reasons[-1] == (
        "Did not apply: Inpatient admission [inpatient-stay]: it applies only in the inpatient "
        "setting; this service is at POS 24 (Ambulatory Surgical Center)."
    )


def test_channels_and_turnaround_come_from_the_first_of_the_strongest_rules() -> None:
    notice = """\
        - id: tell-us
          name: Tell us
          codes: ['27447']
          outcome: notification
          channels: [{type: phone, address: '555-0100'}]
          turnaround: {standard: 1 business day}
        """
    book = rulebook(textwrap.dedent(notice) + TKA)

    answer = check(book, "27447", pos="21")

    assert answer.channels == [{"type": "fax", "address": "555-0141"}]
    assert answer.turnaround == {}
    assert check(book, "99223", pos="21").turnaround == {"standard": "3 business days"}


def test_a_wildcard_rule_applies_to_a_code_no_other_rule_lists() -> None:
    answer = check(rulebook(TKA), "99223", setting="inpatient")

    assert answer.decision is Decision.REQUIRED
    assert [m["id"] for m in answer.matched_rules] == ["inpatient-stay"]


def test_a_wildcard_rule_that_does_not_apply_explains_why_and_leaves_the_default() -> None:
    answer = check(rulebook(TKA), "99213", pos="11")

    assert answer.decision is Decision.UNKNOWN
    assert answer.reasons == [
        "Did not apply: Inpatient admission [inpatient-stay]: it applies only in the inpatient "
        "setting; this service is at POS 11 (Office).",
        "No rule in the Acme Health pack covers 99213 on 2026-11-23: verify with the payer.",
    ]


# -- why a close rule did not apply ---------------------------------------------------------------


def _why_not(filters: str, **facts: Any) -> str:
    book = rulebook(MRI + textwrap.indent(textwrap.dedent(filters), "  "), plans=PLANS)
    answer = check(book, **facts)
    assert answer.decision is Decision.UNKNOWN
    assert answer.matched_rules == []
    prefix = "Did not apply: MRI brain [mri-brain]: "
    assert answer.reasons[0].startswith(prefix)
    return answer.reasons[0].removeprefix(prefix)


def test_a_rule_that_starts_after_the_date_of_service_says_when_it_starts() -> None:
    assert _why_not("effective_from: 2026-12-01") == (
        "it starts on 2026-12-01 and this service is on 2026-11-23."
    )


def test_a_rule_that_ended_before_the_date_of_service_says_when_it_left_the_list() -> None:
    assert _why_not("effective_through: 2026-06-30") == (
        "it ended on 2026-06-30 (no longer on the list from 2026-07-01); this service is on "
        "2026-11-23."
    )


@pytest.mark.parametrize(
    ("day", "decision"),
    [
        (dt.date(2025, 12, 31), Decision.UNKNOWN),
        (dt.date(2026, 1, 1), Decision.REQUIRED),
        (dt.date(2026, 6, 30), Decision.REQUIRED),
        (dt.date(2026, 7, 1), Decision.UNKNOWN),
    ],
)
def test_a_rule_applies_from_its_first_day_through_its_last_day(
    day: dt.date, decision: Decision
) -> None:
    book = rulebook(MRI + "  effective_from: 2026-01-01\n  effective_through: 2026-06-30\n")

    assert check(book, date=day).decision is decision


def test_a_rule_for_other_places_of_service_names_them_and_this_one() -> None:
    assert _why_not("pos: ['19', '22']", pos="24") == (
        "it applies only at POS 19 (Off Campus-Outpatient Hospital) or 22 (On Campus-Outpatient "
        "Hospital); this service is at POS 24 (Ambulatory Surgical Center)."
    )


def test_a_rule_for_other_states_names_them_and_this_one() -> None:
    assert _why_not("states: [TX, AZ, NJ]", state="CA") == (
        "it applies only in AZ, NJ and TX; this service is in CA."
    )


def test_a_rule_for_another_plan_type_names_it_and_this_one() -> None:
    assert _why_not("plans: [medicaid]", plan="commercial") == (
        "it applies to medicaid plans; this is a commercial plan."
    )


def test_a_pairing_rule_without_its_companion_code_says_which_codes_it_needs() -> None:
    assert _why_not("when: {with_codes: ['64612', '64615']}", companions=["20610"]) == (
        "it applies only when billed with 64612 or 64615; none is on this request."
    )


def test_a_pairing_rule_does_not_apply_to_a_code_known_to_be_billed_alone() -> None:
    assert _why_not("when: {with_codes: ['64612']}", companions=[]) == (
        "it applies only when billed with 64612; none is on this request."
    )


def test_a_rule_for_certain_diagnoses_names_them() -> None:
    assert _why_not("when: {diagnoses_any: [M17, G47.3]}", diagnoses=("E11.9",)) == (
        "it applies only with diagnoses M17 or G47.3."
    )


def test_a_rule_excluding_a_diagnosis_names_the_diagnosis_on_the_request() -> None:
    assert _why_not("when: {diagnoses_none: [C50]}", diagnoses=("E11.9", "C50.911")) == (
        "it does not apply with diagnosis C50.911."
    )


def test_a_visit_threshold_is_not_crossed_at_exactly_the_threshold() -> None:
    assert _why_not("when: {units_over: 12}", units=12) == (
        "it applies only beyond 12 units or visits; this service counts 12."
    )


@pytest.mark.parametrize(
    ("ages", "age", "why"),
    [
        ("min_age: 18", 17, "it applies to ages 18 to any; the patient is 17."),
        ("max_age: 17", 18, "it applies to ages 0 to 17; the patient is 18."),
        ("min_age: 2, max_age: 5", 6, "it applies to ages 2 to 5; the patient is 6."),
    ],
)
def test_a_rule_for_other_ages_names_the_ages_and_the_patient_s(
    ages: str, age: int, why: str
) -> None:
    assert _why_not(f"when: {{{ages}}}", age=age) == why


@pytest.mark.parametrize("age", [2, 5])
def test_age_limits_are_inclusive(age: int) -> None:
    book = rulebook(MRI + "  when: {min_age: 2, max_age: 5}\n")

    assert check(book, age=age).decision is Decision.REQUIRED


def test_an_out_of_network_rule_assumes_in_network_when_the_network_is_not_given() -> None:
    assert _why_not("when: {network: out}") == (
        "it applies to out-of-network services; this one is in-network "
        "(assumed in-network; give the network if not)."
    )


def test_an_out_of_network_rule_does_not_apply_to_an_in_network_service() -> None:
    assert _why_not("when: {network: out}", network="in") == (
        "it applies to out-of-network services; this one is in-network."
    )


def test_an_out_of_network_rule_applies_when_the_service_is_out_of_network() -> None:
    book = rulebook(MRI.replace("preauthorization", "referral") + "  when: {network: out}\n")

    answer = check(book, network="out")

    assert answer.decision is Decision.REQUIRED
    assert answer.processes == [
        {"term": "referral", "reviews": "medical_necessity", "rule": "mri-brain"}
    ]


def test_diagnosis_prefixes_match_codes_below_them() -> None:
    book = rulebook(MRI + "  when: {diagnoses_any: [M17, G47.3]}\n")

    assert check(book, diagnoses=("E11.9", "G47.33")).decision is Decision.REQUIRED


def test_a_rule_reached_through_a_code_range_matches_each_code_of_the_range() -> None:
    book = rulebook(MRI)

    assert [check(book, c).decision for c in ("70550", "70551", "70552", "70553", "70554")] == [
        Decision.UNKNOWN,
        Decision.REQUIRED,
        Decision.REQUIRED,
        Decision.REQUIRED,
        Decision.UNKNOWN,
    ]


# -- the stable JSON shape ------------------------------------------------------------------------


def test_a_requirement_serialises_to_the_documented_json_shape() -> None:
    book = rulebook(MRI + "  channels: [{type: x12, address: ACME1}]\n")

    shape = check(book).as_dict()

    assert shape == {
        "code": "70551",
        "payer": "acme",
        "date": "2026-11-23",
        "decision": "required",
        "processes": [
            {"term": "preauthorization", "reviews": "medical_necessity", "rule": "mri-brain"}
        ],
        "documents": [],
        "channels": [{"type": "x12", "address": "ACME1"}],
        "turnaround": {},
        "matched_rules": [{"id": "mri-brain", "source": "Acme provider manual"}],
        "reasons": [
            "Preauthorization required (reviews medical necessity): MRI brain [mri-brain]."
        ],
    }


def test_answers_do_not_share_lists_so_changing_one_cannot_change_the_next() -> None:
    book = rulebook(MRI + "  channels: [{type: x12, address: ACME1}]\n  documents: [order]\n")
    first = check(book)
    first.channels.append({"type": "fax", "address": "tampered"})
    first.documents.append("tampered")
    first.processes[0]["term"] = "tampered"

    second = check(book)

    assert second.channels == [{"type": "x12", "address": "ACME1"}]
    assert second.documents == ["order"]
    assert second.processes[0]["term"] == "preauthorization"


def test_requirements_for_answers_each_service_in_order() -> None:
    book = rulebook(MRI)
    services = [Service("acme", code, DAY) for code in ("99213", "70551")]

    answers = book.requirements_for(services)

    assert [(a.code, a.decision) for a in answers] == [
        ("99213", Decision.UNKNOWN),
        ("70551", Decision.REQUIRED),
    ]


# -- what is left out of an answer because it says nothing new -------------------------------------


PHASED = """\
- id: brace-phase-1
  name: Knee brace, phase 1 states
  codes: [L1832]
  states: [NY, IL]
  effective_from: 2022-04-13
  effective_through: 2022-10-09
- id: brace-nationwide
  name: Knee brace, nationwide
  codes: [L1832]
  effective_from: 2022-10-10
"""


def test_a_phase_in_rule_that_ended_where_the_nationwide_rule_took_over_is_not_explained() -> None:
    answer = check(rulebook(PHASED), "L1832", state="NY", date=dt.date(2026, 1, 5))

    assert answer.decision is Decision.REQUIRED
    assert answer.reasons == [
        "Prior authorization required (reviews medical necessity): "
        "Knee brace, nationwide [brace-nationwide]."
    ]


def test_a_rule_that_ended_is_still_explained_when_nothing_else_requires_the_same() -> None:
    answer = check(rulebook(PHASED), "L1832", state="NY", date=dt.date(2022, 10, 1))

    assert answer.decision is Decision.REQUIRED
    assert answer.matched_rules == [{"id": "brace-phase-1", "source": "Acme provider manual"}]
    assert check(rulebook(PHASED), "L1832", state="TX", date=dt.date(2022, 10, 1)).reasons == [
        "Did not apply: Knee brace, phase 1 states [brace-phase-1]: it applies only in IL and NY; "
        "this service is in TX.",
        "Did not apply: Knee brace, nationwide [brace-nationwide]: it starts on 2022-10-10 and "
        "this service is on 2022-10-01.",
        "No rule in the Acme Health pack covers L1832 on 2022-10-01: verify with the payer.",
    ]


TWO_WAYS_TO_THE_SAME_PROCESS = """\
- id: mri-hospital
  name: MRI at the hospital
  codes: ["70551"]
  pos: ["19", "22"]
  term: preauthorization
- id: mri-imaging-centre
  name: MRI at an imaging centre
  codes: ["70551"]
  settings: [office]
  term: preauthorization
"""


def test_a_process_that_two_pending_rules_would_need_is_listed_once() -> None:
    answer = check(rulebook(TWO_WAYS_TO_THE_SAME_PROCESS), "70551")

    assert answer.decision is Decision.CONDITIONAL
    assert [(p["term"], p["rule"]) for p in answer.processes] == [
        ("preauthorization", "mri-hospital")
    ]
    assert len([r for r in answer.reasons if r.startswith("Depends on")]) == 2
