"""The shipped demo payer packs: clearly synthetic, and answering the cases they exist to show.

Acme Health shows precertification versus preauthorization, Northwind Health the conditions a rule
can carry (visit threshold, network, diagnosis, age), Coralbay Medicaid notification and an explicit
"not required". Most checks ask the rule book directly; a few go through `check_services` on a real
SQLite context, the way the CLI, the batch, the API and the web page ask.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from precert.domain.packs import parse_pack
from precert.domain.requirements import Requirement, RuleBook, Service
from precert.domain.rules import POS_SETTING, SETTING_POS, Channel, PayerPack, PayerRule
from precert.services.catalog import shipped_packs
from precert.services.context import Context
from precert.services.requirements import check_services

DAY = dt.date(2026, 11, 23)  # the same fixed day as the `ctx` fixture's clock
ACME, NORTHWIND, CORALBAY = "acme-health", "northwind-health", "coralbay-medicaid"
DEMO_IDS = (ACME, NORTHWIND, CORALBAY)
SYNTHETIC_SOURCE = "Synthetic demo pack: not a real payer's list"

PACKS: dict[str, PayerPack] = {pack.id: pack for pack in shipped_packs()}
BOOK = RuleBook(PACKS.values())
DEMO_RULES: list[PayerRule] = [rule for pid in DEMO_IDS for rule in PACKS[pid].rules]

BRAIN_MRI = {
    "70551": "acme-mri-brain-without-contrast",
    "70552": "acme-mri-brain-with-contrast",
    "70553": "acme-mri-brain-without-and-with-contrast",
}


def answer(payer: str, code: str, **facts: Any) -> Requirement:
    facts.setdefault("date", DAY)
    return BOOK.requirement_for(Service(payer_id=payer, code=code, **facts))


def rule_ids(result: Requirement | dict[str, Any]) -> list[str]:
    matched = result["matched_rules"] if isinstance(result, dict) else result.matched_rules
    return [m["id"] for m in matched]


def processes(requirement: Requirement) -> set[tuple[str, str]]:
    return {(p["term"], p["reviews"]) for p in requirement.processes}


def check_one(ctx: Context, **item: str) -> dict[str, Any]:
    """One service through the use case every surface calls, as its stable JSON shape."""
    (requirement,) = check_services(ctx, [item])
    return requirement.as_dict()


# -- every pack loads, and the demos say they are synthetic


def test_every_shipped_pack_parses_and_the_three_demo_payers_are_among_them() -> None:
    packs = shipped_packs()

    ids = [pack.id for pack in packs]
    assert len(ids) == len(set(ids)), f"two shipped packs share a payer id: {ids}"
    assert set(DEMO_IDS) <= set(ids)
    assert all(pack.rules for pack in packs), "a shipped pack has no rules"


_PHONE = re.compile(r"^\(\d{3}\) 555-01\d\d$")  # the 555-0100..0199 block reserved for fiction
_URL = re.compile(r"^https://[a-z0-9.-]+\.example(/\S*)?$")


def _fictional(channel: Channel) -> bool:
    if channel.type == "x12" and not channel.address:
        return True  # through the installation's clearinghouse (settings), not an address
    if channel.type in ("fax", "phone"):
        return bool(_PHONE.match(channel.address))
    return bool(_URL.match(channel.address))


@pytest.mark.parametrize("payer", DEMO_IDS)
def test_each_demo_pack_says_it_is_synthetic_and_points_only_at_fictional_addresses(
    payer: str,
) -> None:
    pack = PACKS[payer]

    assert pack.synthetic is True
    assert pack.name.endswith("(synthetic demo)")
    assert pack.source == SYNTHETIC_SOURCE
    assert {rule.source for rule in pack.rules} == {SYNTHETIC_SOURCE}
    channels = list(pack.contact) + [c for rule in pack.rules for c in rule.channels]
    assert channels, "a demo pack should show how to reach the payer"
    real_looking = [c.address for c in channels if not _fictional(c)]
    assert real_looking == [], "use .example domains and 555-01xx numbers"


def test_the_authoring_guide_example_is_a_valid_pack_whose_rules_apply() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "payer-packs.md").read_text("utf-8")
    after_marker = guide.split("<!-- example-pack:", 1)[1]
    example = after_marker.split("```yaml\n", 1)[1].split("```", 1)[0]

    pack = parse_pack(example, "payer-packs.md")
    book = RuleBook([pack])
    knee = book.requirement_for(Service(pack.id, "27447", DAY, pos="21"))
    botox = Service(pack.id, "J0585", DAY, state="TX", companions=frozenset({"64612"}))

    assert pack.synthetic is True
    assert len(pack.rules) == 8
    assert knee.decision == "required"
    assert rule_ids(knee) == ["example-inpatient-admission"]
    assert book.requirement_for(botox).decision == "required"


# -- Acme Health: precertification for stays and surgery, preauthorization for imaging


@pytest.mark.parametrize("pos", ["22", "11"])
@pytest.mark.parametrize(("code", "rule_id"), sorted(BRAIN_MRI.items()))
def test_each_brain_mri_code_needs_preauthorization_under_its_own_rule_at_pos_22_and_office(
    code: str, rule_id: str, pos: str
) -> None:
    result = answer(ACME, code, pos=pos)

    assert result.decision == "required"
    assert rule_ids(result) == [rule_id]
    assert processes(result) == {("preauthorization", "medical_necessity")}
    assert "Reports of prior imaging of the same area" in result.documents
    assert "Conservative treatment tried and for how long" in result.documents
    assert [c["type"] for c in result.channels] == ["portal", "fax", "phone"]
    assert result.turnaround == {"standard": "7 calendar days", "expedited": "72 hours"}


def test_brain_mri_during_an_inpatient_stay_falls_under_the_admission_precertification() -> None:
    result = answer(ACME, "70553", pos="21")

    assert result.decision == "required"
    assert rule_ids(result) == ["acme-inpatient-admission"]
    assert processes(result) == {("precertification", "both")}
    assert (
        "Did not apply: MRI brain without and with contrast "
        "[acme-mri-brain-without-and-with-contrast]: it applies only in the office or outpatient "
        "setting; this service is at POS 21 (Inpatient Hospital)."
    ) in result.reasons


def test_inpatient_knee_replacement_needs_precertification_of_the_stay_and_preauth_of_surgery(
    ctx: Context,
) -> None:
    result = check_one(ctx, payer=ACME, code="27447", pos="21")

    assert result["decision"] == "required"
    assert sorted(rule_ids(result)) == ["acme-inpatient-admission", "acme-total-knee"]
    assert sorted((p["term"], p["reviews"]) for p in result["processes"]) == [
        ("preauthorization", "medical_necessity"),
        ("precertification", "both"),
    ]
    assert "Weight-bearing X-ray report" in result["documents"]
    assert "Expected length of stay" in result["documents"]


@pytest.mark.parametrize("pos", ["24", "22"])
def test_knee_replacement_at_an_asc_or_hospital_outpatient_needs_only_the_preauthorization(
    ctx: Context, pos: str
) -> None:
    result = check_one(ctx, payer=ACME, code="27447", pos=pos)

    assert result["decision"] == "required"
    assert rule_ids(result) == ["acme-total-knee"]
    assert [(p["term"], p["reviews"]) for p in result["processes"]] == [
        ("preauthorization", "medical_necessity")
    ]
    assert any(
        r.startswith(
            "Did not apply: Inpatient admission [acme-inpatient-admission]: it applies "
            f"only in the inpatient setting; this service is at POS {pos} ("
        )
        for r in result["reasons"]
    )


def test_knee_replacement_with_no_place_given_is_conditional_on_the_care_setting() -> None:
    result = answer(ACME, "27447")

    assert result.decision == "conditional"
    assert rule_ids(result) == []
    assert (
        "Depends on the care setting (it applies only in the inpatient setting): Inpatient "
        "admission [acme-inpatient-admission] would make it precertification required (reviews "
        "coverage and medical necessity)."
    ) in result.reasons
    assert {p["condition"] for p in result.processes} >= {
        "the care setting (it applies only in the inpatient setting)"
    }


def test_medicare_advantage_only_rule_depends_on_the_plan_and_skips_commercial_members() -> None:
    medicare_advantage = answer(ACME, "J0178", pos="11", plan="medicare-advantage")
    commercial = answer(ACME, "J0178", pos="11", plan="commercial")
    unstated = answer(ACME, "J0178", pos="11")

    assert medicare_advantage.decision == "required"
    assert rule_ids(medicare_advantage) == ["acme-ma-anti-vegf"]
    assert commercial.decision == "unknown"
    assert (
        "Did not apply: Anti-VEGF eye injections (Part B step therapy) [acme-ma-anti-vegf]: it "
        "applies to medicare-advantage plans; this is a commercial plan."
    ) in commercial.reasons
    assert unstated.decision == "conditional"
    assert any(r.startswith("Depends on the plan type") for r in unstated.reasons)


def test_every_acme_rule_a_medicare_advantage_member_can_meet_runs_on_the_cms_0057f_clock() -> None:
    rules = [
        rule
        for rule in PACKS[ACME].rules
        if rule.outcome == "required" and (rule.plans is None or "medicare-advantage" in rule.plans)
    ]

    assert rules
    for rule in rules:
        assert rule.turnaround.as_dict() == {"standard": "7 calendar days", "expedited": "72 hours"}
        assert [c.type for c in rule.channels] == ["portal", "fax", "phone"], rule.id


def test_head_ct_needs_preauthorization_through_june_30_inclusive_and_not_from_july_1() -> None:
    last_day = answer(ACME, "70450", pos="22", date=dt.date(2026, 6, 30))
    first_day_off = answer(ACME, "70450", pos="22", date=dt.date(2026, 7, 1))

    assert last_day.decision == "required"
    assert rule_ids(last_day) == ["acme-ct-head"]
    assert first_day_off.decision == "not_required"
    assert rule_ids(first_day_off) == ["acme-ct-head-off-list"]
    assert (
        "Did not apply: CT head [acme-ct-head]: it ended on 2026-06-30 (no longer on the list "
        "from 2026-07-01); this service is on 2026-07-01."
    ) in first_day_off.reasons


@pytest.mark.parametrize("payer", [ACME, CORALBAY])
def test_a_code_no_rule_covers_answers_unknown_and_says_verify_with_the_payer(
    ctx: Context, payer: str
) -> None:
    result = check_one(ctx, payer=payer, code="99213", pos="11")

    assert result["decision"] == "unknown"
    assert result["matched_rules"] == []
    assert result["reasons"][-1] == (
        f"No rule in the {PACKS[payer].name} pack covers 99213 on {DAY}: verify with the payer."
    )
    # Where to verify: the payer's own contact channels, in its order of preference.
    assert result["channels"] == [c.as_dict() for c in PACKS[payer].contact]


# -- Northwind Health: visit threshold, out-of-network referral, diagnosis and age


def test_therapy_visit_8_needs_no_approval_and_says_the_threshold(ctx: Context) -> None:
    result = check_one(ctx, payer=NORTHWIND, code="97110", units="8")

    assert result["decision"] == "not_required"
    assert (
        "Did not apply: Physical and occupational therapy beyond 12 visits a year "
        "[northwind-therapy-visits]: it applies only beyond 12 units or visits; this service "
        "counts 8."
    ) in result["reasons"]


@pytest.mark.parametrize("code", ["97110", "97112", "97140", "97530", "97161", "97163"])
def test_therapy_visit_13_needs_preauthorization(code: str) -> None:
    result = answer(NORTHWIND, code, units=13)

    assert result.decision == "required"
    assert rule_ids(result) == ["northwind-therapy-visits"]
    assert processes(result) == {("preauthorization", "medical_necessity")}
    assert result.turnaround == {"standard": "2 business days", "expedited": "24 hours"}


def test_therapy_visit_without_a_visit_count_is_conditional_on_the_count(ctx: Context) -> None:
    result = check_one(ctx, payer=NORTHWIND, code="97530")

    assert result["decision"] == "conditional"
    assert result["reasons"][0] == (
        "Depends on the number of units or visits (it applies beyond 12): Physical and "
        "occupational therapy beyond 12 visits a year [northwind-therapy-visits] would make it "
        "preauthorization required (reviews medical necessity)."
    )


def test_out_of_network_service_needs_a_referral_reviewing_coverage(ctx: Context) -> None:
    result = check_one(ctx, payer=NORTHWIND, code="99213", network="out")

    assert result["decision"] == "required"
    assert rule_ids(result) == ["northwind-out-of-network-referral"]
    assert [(p["term"], p["reviews"]) for p in result["processes"]] == [("referral", "coverage")]
    assert "Referral from the member's primary care provider" in result["documents"]


def test_out_of_network_therapy_beyond_the_threshold_needs_referral_and_preauthorization() -> None:
    result = answer(NORTHWIND, "97140", units=20, network="out")

    assert result.decision == "required"
    assert processes(result) == {
        ("referral", "coverage"),
        ("preauthorization", "medical_necessity"),
    }


@pytest.mark.parametrize(("network", "assumed"), [("in", False), (None, True)])
def test_in_network_or_unstated_network_needs_no_referral_and_says_when_in_network_was_assumed(
    network: str | None, assumed: bool
) -> None:
    result = answer(NORTHWIND, "99213", network=network)

    assert result.decision == "not_required"
    assert ("referral", "coverage") not in processes(result)
    (miss,) = [r for r in result.reasons if "[northwind-out-of-network-referral]" in r]
    assert miss.startswith("Did not apply: Out-of-network care")
    assert ("assumed in-network" in miss) is assumed


def test_northwind_publishes_a_complete_list_so_an_unlisted_code_is_not_required() -> None:
    result = answer(NORTHWIND, "99213", network="in")

    assert result.decision == "not_required"
    assert result.reasons[-1] == (
        "No line of the Northwind Health (synthetic demo) prior authorization list applies to "
        "99213, and the plan publishes the list as complete: no approval needed (benefit limits "
        "still apply)."
    )


def test_hereditary_cancer_testing_is_decided_by_the_diagnosis(ctx: Context) -> None:
    family_history = check_one(ctx, payer=NORTHWIND, code="81163", diagnoses="Z80.3")
    with_cancer = check_one(ctx, payer=NORTHWIND, code="81163", diagnoses="C50.911")
    unstated = check_one(ctx, payer=NORTHWIND, code="81163")

    assert family_history["decision"] == "required"
    assert rule_ids(family_history) == ["northwind-hereditary-cancer-predictive"]
    assert with_cancer["decision"] == "not_required"
    assert rule_ids(with_cancer) == ["northwind-hereditary-cancer-treatment"]
    assert unstated["decision"] == "conditional"
    assert any(r.startswith("Depends on the diagnosis") for r in unstated["reasons"])


def test_in_lab_sleep_study_needs_preauthorization_for_adults_only() -> None:
    adult = answer(NORTHWIND, "95810", pos="11", age=45)
    child = answer(NORTHWIND, "95810", pos="11", age=9)
    unstated = answer(NORTHWIND, "95810", pos="11")

    assert adult.decision == "required"
    assert rule_ids(adult) == ["northwind-sleep-study-in-lab"]
    assert child.decision == "not_required"
    assert (
        "Did not apply: Sleep study in a sleep lab (adults) [northwind-sleep-study-in-lab]: it "
        "applies to ages 18 to any; the patient is 9."
    ) in child.reasons
    assert unstated.decision == "conditional"


# -- Coralbay Medicaid: notification, preauthorization and an explicit "not required"


@pytest.mark.parametrize(
    ("code", "pos", "rule_id"),
    [
        ("59400", "21", "coralbay-delivery-notification"),
        ("59510", "21", "coralbay-delivery-notification"),
        ("59610", "21", "coralbay-delivery-notification"),
        ("G0299", "12", "coralbay-home-health-notification"),
        ("G0300", "12", "coralbay-home-health-notification"),
    ],
)
def test_medicaid_notification_services_answer_notification_with_the_notification_term(
    code: str, pos: str, rule_id: str
) -> None:
    result = answer(CORALBAY, code, pos=pos)

    assert result.decision == "notification"
    assert rule_id in rule_ids(result)
    assert processes(result) == {("notification", "coverage")}
    assert result.turnaround == {}  # the plan decides nothing, so there is no decision clock
    assert any("(notification only, no approval): " in r and rule_id in r for r in result.reasons)


def test_medicaid_admitted_joint_replacement_needs_preauthorization_and_admission_notice(
    ctx: Context,
) -> None:
    result = check_one(ctx, payer=CORALBAY, code="27447", pos="21")

    assert result["decision"] == "required"
    assert sorted((p["term"], p["reviews"]) for p in result["processes"]) == [
        ("notification", "coverage"),
        ("preauthorization", "medical_necessity"),
    ]


@pytest.mark.parametrize("code", ["E0260", "K0823"])
def test_medicaid_durable_medical_equipment_needs_preauthorization_wherever_it_is_used(
    code: str,
) -> None:
    result = answer(CORALBAY, code)

    assert result.decision == "required"
    assert rule_ids(result) == ["coralbay-dme"]


def test_medicaid_preventive_visit_is_explicitly_not_required_and_names_the_rule(
    ctx: Context,
) -> None:
    result = check_one(ctx, payer=CORALBAY, code="99391", pos="11")

    assert result["decision"] == "not_required"
    assert result["processes"] == []
    assert rule_ids(result) == ["coralbay-preventive-care"]
    assert result["reasons"][0] == (
        "Not required: Preventive visits, child health check-ups, screening mammography and "
        "vaccines [coralbay-preventive-care]."
    )


# -- no dead rules


def _place_for(rule: PayerRule) -> str | None:
    """A place of service the rule accepts (its own POS, or one inside its care settings)."""
    if rule.pos is None and rule.settings is None:
        return None
    candidates = sorted(rule.pos or POS_SETTING)
    if rule.settings is not None:
        candidates = [p for p in candidates if POS_SETTING.get(p) in rule.settings]
        candidates = candidates or sorted(p for s in rule.settings for p in SETTING_POS[s])
    return candidates[0]


def _service_matching(rule: PayerRule) -> Service:
    """A service giving every fact the rule asks about, each set so that the rule applies."""
    cond = rule.conditions
    day = rule.effective_from or DAY
    if rule.effective_through is not None and day > rule.effective_through:
        day = rule.effective_through
    diagnoses = cond.diagnoses_any[:1]
    if cond.diagnoses_none and not diagnoses:
        diagnoses = ("R69",)  # illness, unspecified: outside any exclusion a demo pack lists
        assert not diagnoses[0].startswith(cond.diagnoses_none)
    return Service(
        payer_id=rule.payer_id,
        code=rule.codes[0] if rule.codes else "99213",
        date=day,
        plan=min(rule.plans) if rule.plans else None,
        pos=_place_for(rule),
        state=min(rule.states) if rule.states else None,
        units=cond.units_over + 1 if cond.units_over is not None else None,
        diagnoses=diagnoses,
        network=cond.network,
        age=cond.min_age if cond.min_age is not None else cond.max_age,
        companions=frozenset(sorted(cond.with_codes)[:1]),
    )


@pytest.mark.parametrize("rule", DEMO_RULES, ids=[rule.id for rule in DEMO_RULES])
def test_every_demo_rule_applies_to_a_service_built_to_match_it(rule: PayerRule) -> None:
    result = BOOK.requirement_for(_service_matching(rule))

    assert rule.id in rule_ids(result), result.reasons
