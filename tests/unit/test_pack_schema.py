"""The payer pack schema: what a valid pack turns into, and how a broken one is refused.

A refused pack names the file, the rule id and the field of every problem, with what is accepted,
so that whoever maintains the YAML can fix it without reading precert's code.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from precert.domain import packs
from precert.domain.packs import parse_pack
from precert.domain.rules import Decision, Duration, Outcome
from precert.errors import InvalidInput, Issue

HEAD = """\
precert-pack: 1
payer:
  id: acme
  name: Acme Health
  plans: [commercial, medicare-advantage]
version: "2026.10"
rules:
"""

MRI = """\
- id: acme-mri-brain
  name: MRI brain
  codes: [70551-70553]
"""


def pack_text(rules: str = MRI, head: str = HEAD) -> str:
    return head + textwrap.indent(textwrap.dedent(rules), "  ")


def refused(text: str, filename: str = "acme.yaml") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_pack(text, filename)
    assert caught.value.issues, "a refusal lists its problems"
    return caught.value


def only_issue(text: str) -> Issue:
    error = refused(text)
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


def with_field(line: str) -> str:
    return pack_text(MRI + "  " + line + "\n")


# -- a valid pack ---------------------------------------------------------------------------------


FULL = """\
precert-pack: 1
payer:
  id: acme
  name: Acme Health
  synthetic: true
  plans: [commercial, medicare-advantage]
  x12_payer_ids: [ACME1]
  contact: [{type: phone, address: "(312) 555-0140"}]
version: 2026.10
published: 2026-10-01
source: Acme provider manual
default: {decision: not_required, reason: "{code} is not on the {payer} list."}
defaults:
  term: preauthorization
  documents: [clinical notes]
  channels: [{type: portal, address: "https://portal.example"}]
  turnaround: {standard: 1 business day, expedited: 72 Hours}
rules:
  - id: acme-anesthesia
    name: Anesthesia
    codes: [00100, 0042T-0044T, J0585-J0587, "70551", 70551]
    pos: ["2", "22"]
    states: [tx, DC]
    effective_from: 2026-01-01
    effective_through: 2026-12-31
    when: {with_codes: [64612], diagnoses_any: [m17, G47.33], units_over: 0, network: out}
  - id: acme-inpatient
    name: Inpatient stay
    codes: ["*"]
    settings: [inpatient]
    plans: [commercial]
    outcome: notification
    reviews: both
    source: Acme notification grid
    documents: []
    channels: []
"""


def test_a_valid_pack_becomes_a_payer_pack_with_every_field() -> None:
    pack = parse_pack(FULL, "acme.yaml", origin="imported")

    assert (pack.id, pack.name, pack.version, pack.origin) == (
        "acme",
        "Acme Health",
        "2026.10",
        "imported",
    )
    assert pack.plans == ("commercial", "medicare-advantage")
    assert pack.synthetic is True
    assert pack.published == dt.date(2026, 10, 1)
    assert pack.default_decision is Decision.NOT_REQUIRED
    assert pack.x12_payer_ids == ("ACME1",)
    assert [c.as_dict() for c in pack.contact] == [{"type": "phone", "address": "(312) 555-0140"}]


def test_unquoted_codes_and_versions_stay_text_exactly_as_written() -> None:
    pack = parse_pack(FULL, "acme.yaml")

    assert pack.version == "2026.10"
    assert pack.rules[0].codes[0] == "00100"


def test_ranges_are_expanded_and_codes_listed_twice_are_kept_once() -> None:
    rule = parse_pack(FULL, "acme.yaml").rules[0]

    assert rule.codes == (
        "00100",
        "0042T",
        "0043T",
        "0044T",
        "J0585",
        "J0586",
        "J0587",
        "70551",
    )


def test_places_states_and_diagnoses_are_normalised_like_the_code_parsers_do() -> None:
    rule = parse_pack(FULL, "acme.yaml").rules[0]

    assert rule.pos == frozenset({"02", "22"})
    assert rule.states == frozenset({"TX", "DC"})
    assert rule.conditions.diagnoses_any == ("M17", "G47.33")
    assert rule.conditions.with_codes == frozenset({"64612"})
    assert (rule.effective_from, rule.effective_through) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 12, 31),
    )


def test_a_rule_takes_the_pack_defaults_for_what_it_does_not_say() -> None:
    rule = parse_pack(FULL, "acme.yaml").rules[0]

    assert (rule.term, rule.reviews, rule.source) == (
        "preauthorization",
        "medical_necessity",
        "Acme provider manual",
    )
    assert rule.documents == ("clinical notes",)
    assert [c.type for c in rule.channels] == ["portal"]
    assert rule.turnaround.standard == Duration(1, "business_days")
    assert rule.turnaround.as_dict() == {"standard": "1 business day", "expedited": "72 hours"}


def test_a_rule_s_own_values_win_over_the_defaults_even_when_empty() -> None:
    rule = parse_pack(FULL, "acme.yaml").rules[1]

    assert rule.all_codes is True
    assert rule.codes == ()
    assert rule.outcome is Outcome.NOTIFICATION
    assert (rule.reviews, rule.source) == ("both", "Acme notification grid")
    assert rule.documents == ()
    assert rule.channels == ()


def test_a_notification_rule_without_a_term_is_called_notification_and_reviews_coverage() -> None:
    rule = parse_pack(pack_text(MRI + "  outcome: notification\n"), "acme.yaml").rules[0]

    assert (rule.term, rule.reviews) == ("notification", "coverage")


def test_a_required_rule_without_a_term_is_called_prior_authorization() -> None:
    rule = parse_pack(pack_text(), "acme.yaml").rules[0]

    assert (rule.term, rule.reviews) == ("prior authorization", "medical_necessity")


# -- refused: every message names the file, the rule id and the field -----------------------------


def test_an_unknown_field_in_a_rule_is_refused_with_file_rule_and_field() -> None:
    issue = only_issue(with_field("colour: red"))

    assert issue.location == "acme.yaml: rule acme-mri-brain: colour"
    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: colour: unknown field (check the spelling; see "
        "docs/payer-packs.md)"
    )


def test_a_missing_field_is_refused_as_required() -> None:
    issue = only_issue(pack_text("- id: acme-mri-brain\n  codes: ['70551']\n"))

    assert issue.message == "acme.yaml: rule acme-mri-brain: name: is required"


def test_a_rule_without_an_id_is_located_by_its_position() -> None:
    issue = only_issue(pack_text(MRI + "- name: No id\n  codes: ['70551']\n"))

    assert issue.message == "acme.yaml: rules[1]: id: is required"


def test_a_badly_written_rule_id_says_which_characters_are_allowed() -> None:
    issue = only_issue(pack_text(MRI.replace("acme-mri-brain", "Acme MRI")))

    assert issue.message == (
        "acme.yaml: rule Acme MRI: id: use lower-case letters, digits, '-', '.' or '_' "
        "(e.g. acme-mri-brain)"
    )


def test_a_bad_code_is_refused_with_its_position_in_the_list() -> None:
    issue = only_issue(pack_text(MRI.replace("[70551-70553]", "['70551', 7055X]")))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: codes[1]: '7055X' is not a CPT or HCPCS code or range "
        "(e.g. 70551, J0585, 70551-70553)"
    )


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("70553-70551", "'70553-70551': the range runs backwards; write the lower code first"),
        (
            "J0585-70553",
            "'J0585-70553': both ends of a range must have the same shape (e.g. J0585-J0588)",
        ),
        (
            "0042T-0045F",
            "'0042T-0045F': both ends of a range must have the same shape (e.g. J0585-J0588)",
        ),
        (
            "70551-7055X",
            "'70551-7055X': both ends of a range must be CPT or HCPCS codes (e.g. 70551-70553)",
        ),
        ("10000-20000", "'10000-20000': a range may cover at most 10000 codes"),
    ],
)
def test_a_bad_range_is_refused_saying_what_is_wrong_with_it(entry: str, why: str) -> None:
    issue = only_issue(pack_text(MRI.replace("70551-70553", entry)))

    assert issue.message == f"acme.yaml: rule acme-mri-brain: codes[0]: {why}"


def test_the_widest_range_allowed_is_a_whole_hcpcs_letter_block() -> None:
    rule = parse_pack(pack_text(MRI.replace("70551-70553", "A0000-A9999")), "acme.yaml").rules[0]

    assert len(rule.codes) == packs.MAX_RANGE == 10_000


def test_a_pack_listing_more_codes_than_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packs, "MAX_PACK_CODES", 5)
    text = pack_text(MRI + "- id: second\n  name: Second\n  codes: [70554-70556]\n")

    issue = only_issue(text)

    assert issue.message == (
        "acme.yaml: rule second: codes[0]: the pack lists more than 5 codes in all; split it "
        "into packs"
    )


def test_a_bad_place_of_service_is_refused_with_what_is_accepted() -> None:
    issue = only_issue(with_field("pos: ['22', '99x']"))

    assert issue.location == "acme.yaml: rule acme-mri-brain: pos[1]"
    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: pos[1]: '99x' is not valid; expected a two-digit CMS "
        "place-of-service code such as 11 (office), 22 (on-campus outpatient hospital), "
        "21 (inpatient hospital) or 24 (ASC)."
    )


def test_a_bad_state_is_refused_with_what_is_accepted() -> None:
    issue = only_issue(with_field("states: [TX, ZZ]"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: states[1]: 'ZZ' is not valid; expected a two-letter US "
        "state or territory code such as TX."
    )


def test_a_bad_care_setting_lists_the_settings() -> None:
    issue = only_issue(with_field("settings: [hospital]"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: settings[0]: 'hospital' is not one of the care settings: "
        "inpatient, outpatient, office, asc, home, snf, emergency, telehealth, ambulance"
    )


def test_a_rule_for_a_plan_the_payer_does_not_offer_lists_the_payer_s_plans() -> None:
    issue = only_issue(with_field("plans: [medicaid]"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: plans[0]: 'medicaid' is not one of the payer's plans: "
        "commercial, medicare-advantage"
    )


def test_an_unknown_plan_type_lists_the_plan_types() -> None:
    issue = only_issue(pack_text(head=HEAD.replace("medicare-advantage", "gold")))

    assert issue.message == (
        "acme.yaml: payer.plans[1]: 'gold' is not a plan type; use commercial, "
        "medicare-advantage, medicare-ffs, medicaid, medicaid-managed-care, chip, marketplace, "
        "tricare"
    )


def test_an_unknown_term_lists_the_accepted_terms() -> None:
    issue = only_issue(with_field("term: precert"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: term: 'precert' is not a known term; use one of "
        "precertification, preauthorization, prior authorization, notification, referral, "
        "predetermination, pre-service review, pre-claim review"
    )


def test_a_turnaround_that_is_not_a_duration_shows_how_to_write_one() -> None:
    issue = only_issue(with_field("turnaround: {standard: soon}"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: turnaround.standard: 'soon' is not a turnaround; write "
        "e.g. '72 hours', '7 calendar days' or '2 business days'"
    )


def test_a_rule_that_ends_before_it_starts_is_refused() -> None:
    text = pack_text(MRI + "  effective_from: 2026-07-01\n  effective_through: 2026-06-30\n")

    issue = only_issue(text)

    assert (
        issue.message
        == "acme.yaml: rule acme-mri-brain: effective_through: is before effective_from"
    )


def test_a_date_that_is_not_on_the_calendar_is_refused_with_its_field() -> None:
    issue = only_issue(with_field("effective_from: 2026-02-30"))

    assert issue.location == "acme.yaml: rule acme-mri-brain: effective_from"
    assert "day value is outside expected range" in issue.message


def test_an_age_range_that_runs_backwards_is_refused() -> None:
    issue = only_issue(with_field("when: {min_age: 18, max_age: 12}"))

    assert issue.message == "acme.yaml: rule acme-mri-brain: when.max_age: is below min_age"


def test_a_diagnosis_condition_that_is_not_an_icd10cm_code_or_prefix_is_refused() -> None:
    issue = only_issue(with_field("when: {diagnoses_none: [knee]}"))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: when.diagnoses_none[0]: 'knee' is not an ICD-10-CM code "
        "or prefix (e.g. M17 or G47.33)"
    )


def test_a_rule_id_used_twice_is_refused() -> None:
    issue = only_issue(pack_text(MRI + MRI))

    assert issue.message == (
        "acme.yaml: rule acme-mri-brain: this rule id is used twice; rule ids must be unique"
    )


def test_a_key_written_twice_in_one_mapping_is_refused_at_its_line_and_column() -> None:
    issue = only_issue(pack_text(MRI + "  codes: ['99213']\n"))

    assert issue.location == "acme.yaml:11:5"
    assert issue.message == (
        "acme.yaml:11:5: not valid YAML: the key 'codes' appears twice in one mapping"
    )


def test_the_wrong_schema_version_is_refused_naming_the_version_this_precert_reads() -> None:
    issue = only_issue(pack_text().replace("precert-pack: 1", "precert-pack: 2"))

    assert issue.message == (
        "acme.yaml: precert-pack: must be 1 (the pack schema version this precert reads)"
    )


@pytest.mark.parametrize(
    "text", ["- a list\n- of things\n", "just text\n", "", "# only a comment\n"]
)
def test_a_document_that_is_not_a_mapping_is_refused_saying_what_a_pack_is(text: str) -> None:
    issue = only_issue(text)

    assert (
        issue.message == "acme.yaml: a payer pack is a YAML mapping starting with 'precert-pack: 1'"
    )
    assert issue.location == "acme.yaml"


def test_a_yaml_syntax_error_is_refused_at_its_line_and_column() -> None:
    issue = only_issue(with_field("pos: ['22'"))

    assert issue.location == "acme.yaml:12:1"
    assert issue.message == (
        "acme.yaml:12:1: not valid YAML: expected ',' or ']', but got '<stream end>'"
    )


def test_a_default_reason_may_name_only_the_code_and_the_payer() -> None:
    text = HEAD.replace("rules:\n", "default: {reason: 'Ask {payer_name} about {code}'}\n")

    issue = only_issue(text)

    assert issue.message == (
        "acme.yaml: default.reason: may name only {code} and {payer} in braces "
        "(write {{ and }} for a brace)"
    )


def test_every_problem_is_reported_at_once_and_the_message_shows_the_first_three() -> None:
    text = pack_text(
        MRI
        + "  pos: ['98']\n  states: [ZZ]\n  term: precert\n"
        + "- id: second\n  name: Second\n  codes: [X]\n"
    )

    error = refused(text)

    assert [i.location for i in error.issues] == [
        "acme.yaml: rule acme-mri-brain: pos[0]",
        "acme.yaml: rule acme-mri-brain: states[0]",
        "acme.yaml: rule acme-mri-brain: term",
        "acme.yaml: rule second: codes[0]",
    ]
    assert error.message.startswith("acme.yaml: the payer pack was refused: acme.yaml: rule ")
    assert error.message.endswith(" (and 1 more)")


# -- odd YAML the loader must refuse without falling over -----------------------------------------


NOT_YAML = "acme.yaml: not valid YAML: "
UNBUILDABLE = [
    ("published: !!timestamp 2026-13-01\n", NOT_YAML + "month must be in 1..12"),
    ("x: !!int twelve\n", NOT_YAML + "invalid literal for int() with base 10: 'twelve'"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", NOT_YAML + "lists or mappings nest too deeply"),
    (
        "x: !!python/name:os.system\n",
        "acme.yaml:1:4: not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/name:os.system'",
    ),
]


@pytest.mark.parametrize(("text", "why"), UNBUILDABLE)
def test_yaml_the_loader_cannot_build_is_refused_as_not_valid_yaml(text: str, why: str) -> None:
    assert only_issue(text).message == why


def test_rules_written_as_a_set_are_refused_rule_by_rule() -> None:
    error = refused(HEAD.replace("rules:\n", "rules: !!set {a, b}\n"))

    assert {i.location for i in error.issues} == {"acme.yaml: rules[0]", "acme.yaml: rules[1]"}


# -- recovery deadlines ----------------------------------------------------------------------


def test_a_recovery_section_sets_the_payers_deadlines_and_left_out_fields_take_the_defaults() -> (
    None
):
    from precert.domain.rules import DEFAULT_CORRECTED_CLAIM_DAYS, RecoveryTerms, recovery_terms

    head = HEAD.replace(
        "rules:\n", "recovery: {appeal_days: 180, retro_authorization_days: 3}\nrules:\n"
    )
    pack = parse_pack(pack_text(head=head), "acme.yaml")
    assert pack.recovery == RecoveryTerms(180, 3, DEFAULT_CORRECTED_CLAIM_DAYS)
    assert recovery_terms(pack) == pack.recovery


def test_without_a_recovery_section_the_defaults_apply_and_original_medicare_gets_its_own() -> None:
    from precert.domain.rules import MEDICARE_RECOVERY, RecoveryTerms, recovery_terms

    plain = parse_pack(pack_text(), "acme.yaml")
    assert plain.recovery is None
    assert recovery_terms(plain) == RecoveryTerms() == recovery_terms(None)
    assert RecoveryTerms().appeal_days == 60
    medicare = parse_pack(
        pack_text(head=HEAD.replace("commercial, medicare-advantage", "medicare-ffs"))
    )
    assert recovery_terms(medicare) == MEDICARE_RECOVERY
    assert MEDICARE_RECOVERY.appeal_days == 120  # redetermination, 42 CFR 405.942


def test_a_recovery_deadline_out_of_range_or_misspelled_is_refused_with_its_field() -> None:
    head = HEAD.replace("rules:\n", "recovery: {appeal_days: 0, corrected_days: 90}\nrules:\n")
    messages = [i.message for i in refused(pack_text(head=head)).issues]
    assert "acme.yaml: recovery.appeal_days: Input should be greater than or equal to 1" in messages
    assert (
        "acme.yaml: recovery.corrected_days: unknown field (check the spelling; see "
        "docs/payer-packs.md)" in messages
    )


def test_the_demo_packs_configure_their_recovery_deadlines() -> None:
    from pathlib import Path

    from precert.domain.rules import recovery_terms

    folder = Path(packs.__file__).resolve().parents[1] / "data" / "packs"
    for name in ("acme-health", "northwind-health", "coralbay-medicaid"):
        pack = parse_pack((folder / f"{name}.yaml").read_text(), f"{name}.yaml")
        assert pack.recovery is not None, name
        assert recovery_terms(pack).appeal_days >= 60
