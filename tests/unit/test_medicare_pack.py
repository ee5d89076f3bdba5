"""The shipped Medicare FFS pack answers every row of the CMS lists by date, place and state.

Cases are generated from every row of the CMS CSVs shipped in the package (checked byte-identical
to ../shared/refdata below). The expected answers come from the rows and the programs' rules
(42 CFR 419.83 for the OPD list, 42 CFR 414.234 for DMEPOS, the WISeR and RSNAT models), never
from the generator: a wrong date, place, state or pairing in the pack fails here.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from precert.domain.packs import parse_pack
from precert.domain.requirements import Requirement, RuleBook, Service
from precert.domain.rules import Decision, PayerPack

TODAY = dt.date(2026, 11, 23)
ONE_DAY = dt.timedelta(days=1)
CMS_FILES = (
    "cms_opd_prior_auth.csv",
    "dmepos_required_pa.csv",
    "wiser_2026.csv",
    "wiser_states.csv",
    "rsnat_ambulance.csv",
)
REQUIRED, NOT_REQUIRED, CONDITIONAL = Decision.REQUIRED, Decision.NOT_REQUIRED, Decision.CONDITIONAL

# Botulinum toxin (Noridian JE A, CGS): the drug needs PA only with 64612/64615, and the reverse.
OPD_PAIRS = {
    **dict.fromkeys(["64612", "64615"], ("J0585", "J0586", "J0587", "J0588")),
    **dict.fromkeys(["J0585", "J0586", "J0587", "J0588"], ("64612", "64615")),
}
OPD_ONLY = (
    "it applies only at POS 19 (Off Campus-Outpatient Hospital) "
    "or 22 (On Campus-Outpatient Hospital)"
)
POS_LABEL = {
    "11": "11 (Office)",
    "21": "21 (Inpatient Hospital)",
    "24": "24 (Ambulatory Surgical Center)",
}
WISER_WITH = {"64561": "64590"}  # sacral nerve stimulation only when billed with 64590
WISER_NOT_WITH_DX = {"64568": "G47.33"}  # vagus nerve stimulation, not for sleep apnea
OTHER_DX = ("G40.909",)
WISER_POS = ("11", "12", "19", "22", "24")
WISER_START = dt.date(2026, 1, 1)
OUTSIDE_ALL_PHASES = "ND"  # in no DMEPOS phase-1 or phase-2 state list
NOT_ON_RSNAT_LIST = "FM"  # a state code Medicare knows, in no RSNAT wave


# -- the data and the question -------------------------------------------------------------------


def rows(name: str) -> list[dict[str, str]]:
    text = resources.files("precert.data.reference").joinpath("cms", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def medicare_pack() -> PayerPack:
    text = resources.files("precert.data").joinpath("packs", "medicare.yaml").read_text("utf-8")
    return parse_pack(text, "medicare.yaml")


@cache
def book() -> RuleBook:
    return RuleBook([medicare_pack()])


def day(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def states(value: str) -> list[str]:
    return sorted(s for s in value.split(";") if s)


def sources(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(part.strip() for part in row["source"].split(" ; ") if part.strip())


@dataclasses.dataclass(frozen=True)
class Case:
    """One question asked of the pack and what a person must read in the answer."""

    id: str
    code: str
    on: dt.date
    expect: Decision
    pos: str | None = None
    state: str | None = None
    companions: frozenset[str] | None = None
    diagnoses: tuple[str, ...] = ()
    says: tuple[str, ...] = ()  # text the reasons must contain
    sources: tuple[str, ...] = ()  # each in the source of a rule behind the answer

    def at(self, name: str, **changes: Any) -> Case:
        """The same question with other facts, under its own test id."""
        return dataclasses.replace(self, id=f"{self.id}-{name}", **changes)

    def ask(self) -> Requirement:
        service = Service(
            payer_id="medicare",
            code=self.code,
            date=self.on,
            plan="medicare-ffs",
            pos=self.pos,
            state=self.state,
            diagnoses=self.diagnoses,
            companions=self.companions,
        )
        return book().requirement_for(service)


def assert_answer(case: Case) -> None:
    answer = case.ask()
    reasons = " | ".join(answer.reasons)
    assert answer.decision is case.expect, f"{case.id}: {answer.decision}: {reasons}"
    for phrase in case.says:
        assert phrase in reasons, f"{case.id}: {phrase!r} not in: {reasons}"
    behind = [m["id"] for m in answer.matched_rules] + [p["rule"] for p in answer.processes]
    rules = {rule.id: rule for rule in medicare_pack().rules}
    for source in case.sources:
        assert any(source in rules[i].source for i in behind), (
            f"{case.id}: no rule behind the answer ({behind}) cites {source}"
        )


def params(cases: Iterator[Case]) -> list[Any]:
    return [pytest.param(case, id=case.id) for case in cases]


# -- hospital outpatient department (only at POS 19/22) ------------------------------------------


def opd_cases() -> Iterator[Case]:
    for row in rows("cms_opd_prior_auth.csv"):
        code, start, end = row["code"], day(row["effective_date"]), day(row["end_date"])
        if start is None:  # removed before the program started
            never = ("removed before the program started; never required",)
            q = Case(f"opd-{code}-never-required", code, TODAY, NOT_REQUIRED, pos="22", says=never)
            yield q.at(f"{end}", on=end, sources=sources(row))
            yield q.at(f"{TODAY}")
            continue
        partner = OPD_PAIRS[code][:1] if code in OPD_PAIRS else None
        q = Case(
            f"opd-{code}",
            code,
            start,
            REQUIRED,
            pos="22",
            companions=partner and frozenset(partner),
        )
        yield q.at(
            "day-before-start",
            on=start - ONE_DAY,
            expect=NOT_REQUIRED,
            says=(f"it starts on {start}",),
        )
        yield q.at("first-day-pos19", pos="19", sources=sources(row))
        yield q.at("first-day-pos22", sources=sources(row))
        for pos in ("24", "11"):
            says = (f"{OPD_ONLY}; this service is at POS {POS_LABEL[pos]}",)
            yield q.at(
                f"first-day-pos{pos}-not-hospital-outpatient",
                pos=pos,
                expect=NOT_REQUIRED,
                says=says,
            )
        if end is None:
            yield q.at(f"still-listed-{TODAY}", on=TODAY, pos="19")
        else:
            removed = (f"no longer on the list from {end}", f"removed from the list from {end}")
            yield q.at("last-day-before-removal", on=end - ONE_DAY)
            yield q.at(
                f"removed-{end}", on=end, expect=NOT_REQUIRED, says=removed, sources=sources(row)
            )
        if code in OPD_PAIRS:
            yield from opd_pairing_cases(q, OPD_PAIRS[code])


def opd_pairing_cases(q: Case, partners: tuple[str, ...]) -> Iterator[Case]:
    pairing = (
        f"Depends on the codes billed with it (it applies only with {listing(list(partners))})"
    )
    listing_or = pairing.replace(" and ", " or ")
    yield q.at("companions-unknown", companions=None, expect=CONDITIONAL, says=(listing_or,))
    unrelated = ("applies only when billed with", "none is on this request")
    yield q.at(
        "with-unrelated-99213", companions=frozenset({"99213"}), expect=NOT_REQUIRED, says=unrelated
    )
    yield q.at("billed-alone", companions=frozenset(), expect=NOT_REQUIRED, says=unrelated)
    for partner in partners:
        yield q.at(f"with-{partner}", companions=frozenset({partner}), pos="19")


@pytest.mark.parametrize("case", params(opd_cases()))
def test_each_opd_row_is_required_only_in_the_hospital_outpatient_department_on_its_dates(
    case: Case,
) -> None:
    assert_answer(case)


def test_the_opd_pairing_rows_are_exactly_the_botulinum_toxin_codes() -> None:
    opd = rows("cms_opd_prior_auth.csv")
    assert {r["code"] for r in opd if r["pairing_rule"].startswith("PA only")} == set(OPD_PAIRS)


# -- DMEPOS (phase-in by state, then nationwide; suspensions and removals) -------------------------

_PHASE_2 = re.compile(r"Phase 2 (\d{4}-\d{2}-\d{2}): ([A-Z;]+)")


def dmepos_cases() -> Iterator[Case]:
    for row in rows("dmepos_required_pa.csv"):
        code, first = row["code"], day(row["phase1_date"])
        nationwide, end = dt.date.fromisoformat(row["nationwide_date"]), day(row["end_date"])
        phase1 = states(row["phase1_states"])
        start = first or nationwide
        q = Case(f"dmepos-{code}", code, start, REQUIRED, state=(phase1 or [OUTSIDE_ALL_PHASES])[0])
        says = (f"it starts on {start}",)
        yield q.at("day-before-start", on=start - ONE_DAY, expect=NOT_REQUIRED, says=says)
        if first:
            yield from dmepos_phase_cases(q, row, phase1, last=min(nationwide, end or nationwide))
        yield from dmepos_nationwide_cases(q.at("nationwide", on=nationwide), row, end)
        if end is not None:  # a state where a phase is in force the day before the end
            state = OUTSIDE_ALL_PHASES if nationwide < end else phase1[0]
            yield from dmepos_end_cases(q.at(state, state=state), row["status"], end, sources(row))


def dmepos_phase_cases(
    q: Case, row: dict[str, str], phase1: list[str], *, last: dt.date
) -> Iterator[Case]:
    second = _PHASE_2.search(row["notes"])
    phase2_start = dt.date.fromisoformat(second.group(1)) if second else None
    p1 = q.at("phase-1")
    for state in phase1:
        yield p1.at(f"{state}-first-day", state=state, sources=sources(row))
    yield p1.at(f"{phase1[0]}-last-day", on=last - ONE_DAY)
    outside = f"it applies only in {listing(phase1)}; this service is in {OUTSIDE_ALL_PHASES}"
    yield p1.at(
        "not-in-" + OUTSIDE_ALL_PHASES,
        state=OUTSIDE_ALL_PHASES,
        expect=NOT_REQUIRED,
        says=(outside,),
    )
    yield p1.at("state-unknown", state=None, expect=CONDITIONAL, says=("Depends on the state",))
    if second is None or phase2_start is None:
        return
    p2 = q.at("phase-2", on=phase2_start)
    for state in states(second.group(2)):
        says = (f"it starts on {phase2_start}",)
        yield p2.at(
            f"{state}-day-before",
            on=phase2_start - ONE_DAY,
            state=state,
            expect=NOT_REQUIRED,
            says=says,
        )
        yield p2.at(f"{state}-first-day", state=state, sources=sources(row))
    yield p2.at(f"keeps-phase-1-{phase1[0]}", state=phase1[0])


def dmepos_nationwide_cases(q: Case, row: dict[str, str], end: dt.date | None) -> Iterator[Case]:
    q = q.at(OUTSIDE_ALL_PHASES, state=OUTSIDE_ALL_PHASES)
    if end is not None and q.on >= end:
        never = (f"{row['status']} from {end}",)
        yield q.at("never-started", expect=NOT_REQUIRED, says=never, sources=sources(row))
        return
    says = (f"it starts on {q.on}",)
    yield q.at("day-before", on=q.on - ONE_DAY, expect=NOT_REQUIRED, says=says)
    yield q.at("first-day", sources=sources(row))
    yield q.at("any-place-pos12", pos="12")
    if end is None:
        yield q.at(f"still-listed-{TODAY}", on=TODAY)


def dmepos_end_cases(q: Case, status: str, end: dt.date, cited: tuple[str, ...]) -> Iterator[Case]:
    says = (f"no longer on the list from {end}", f"prior authorization {status} from {end}")
    yield q.at(f"last-day-before-{status}", on=end - ONE_DAY)
    yield q.at(f"{status}-{end}", on=end, expect=NOT_REQUIRED, says=says, sources=cited)
    yield q.at(f"{status}-{TODAY}", on=TODAY, expect=NOT_REQUIRED, says=says[1:])


@pytest.mark.parametrize("case", params(dmepos_cases()))
def test_each_dmepos_row_follows_its_phase_in_by_state_and_its_end(case: Case) -> None:
    assert_answer(case)


# -- WISeR (six states, five places, 2026-2031) --------------------------------------------------


def wiser_cases() -> Iterator[Case]:
    for row in rows("wiser_2026.csv"):
        code, end = row["code"], dt.date.fromisoformat(row["model_end"])
        if row["status"] == "postponed":
            q = Case(
                f"wiser-{code}-postponed-TX",
                code,
                WISER_START,
                NOT_REQUIRED,
                pos="22",
                state="TX",
                says=("postponed",),
            )
            yield q.at(f"{WISER_START}", sources=sources(row))
            yield q.at(f"{TODAY}", on=TODAY)
            continue
        start, in_model = dt.date.fromisoformat(row["effective_from"]), states(row["states"])
        q = wiser_conditions_met(Case(f"wiser-{code}", code, start, REQUIRED, pos="22", state="TX"))
        yield q.at(
            "TX-day-before-start",
            on=start - ONE_DAY,
            expect=NOT_REQUIRED,
            says=(f"it starts on {start}",),
        )
        for state in in_model:
            yield q.at(f"{state}-first-day", state=state, sources=sources(row))
        for pos in WISER_POS:
            yield q.at(f"TX-first-day-pos{pos}", pos=pos)
        outside = f"it applies only in {listing(in_model)}; this service is in CA"
        yield q.at("not-in-model-state-CA", state="CA", expect=NOT_REQUIRED, says=(outside,))
        inpatient = f"this service is at POS {POS_LABEL['21']}"
        yield q.at("TX-inpatient-pos21", pos="21", expect=NOT_REQUIRED, says=(inpatient,))
        yield q.at("TX-last-day-of-model", on=end, pos="11")
        after = f"no longer on the list from {end + ONE_DAY}"
        yield q.at(
            "TX-after-model-end", on=end + ONE_DAY, pos="11", expect=NOT_REQUIRED, says=(after,)
        )
        yield from wiser_condition_cases(q.at("OK-pos24", state="OK", pos="24"))


def wiser_conditions_met(q: Case) -> Case:
    if q.code in WISER_WITH:
        return dataclasses.replace(q, companions=frozenset({WISER_WITH[q.code]}))
    if q.code in WISER_NOT_WITH_DX:
        return dataclasses.replace(q, diagnoses=OTHER_DX)
    return q


def wiser_condition_cases(q: Case) -> Iterator[Case]:
    if q.code in WISER_WITH:
        partner = WISER_WITH[q.code]
        unknown = f"Depends on the codes billed with it (it applies only with {partner})"
        yield q.at(f"with-{partner}")
        yield q.at("companions-unknown", companions=None, expect=CONDITIONAL, says=(unknown,))
        unrelated = f"it applies only when billed with {partner}; none is on this request"
        yield q.at(
            "with-unrelated-99213",
            companions=frozenset({"99213"}),
            expect=NOT_REQUIRED,
            says=(unrelated,),
        )
    if q.code in WISER_NOT_WITH_DX:
        dx = WISER_NOT_WITH_DX[q.code]
        excluded = f"it does not apply with diagnosis {dx}"
        yield q.at(f"with-{OTHER_DX[0]}", diagnoses=OTHER_DX)
        yield q.at(f"with-{dx}", diagnoses=(dx,), expect=NOT_REQUIRED, says=(excluded,))
        unknown = f"Depends on the diagnosis (it does not apply with {dx})"
        yield q.at("diagnosis-unknown", diagnoses=(), expect=CONDITIONAL, says=(unknown,))


@pytest.mark.parametrize("case", params(wiser_cases()))
def test_each_wiser_row_is_required_in_the_model_states_places_and_dates(case: Case) -> None:
    assert_answer(case)


def test_the_wiser_condition_rows_are_exactly_the_modelled_ones() -> None:
    own = {
        r["code"]
        for r in rows("wiser_2026.csv")
        if f"{r['code']} only when billed with" in r["condition"]
        or "not when billed with" in r["condition"]
    }
    assert own == set(WISER_WITH) | set(WISER_NOT_WITH_DX)


@pytest.mark.parametrize(
    "participant", rows("wiser_states.csv"), ids=lambda p: f"wiser-participant-{p['state']}"
)
def test_a_wiser_answer_names_the_states_participant_and_mac(participant: dict[str, str]) -> None:
    state = participant["state"]
    answer = Case("participant", "29877", WISER_START, REQUIRED, pos="22", state=state).ask()
    assert answer.decision is REQUIRED
    note = " ".join(channel.get("note", "") for channel in answer.channels)
    assert f"{state}: {participant['wiser_participant']}" in note
    assert f"MAC {participant['mac']} {participant['mac_jurisdiction']}" in note


# -- repetitive, scheduled non-emergent ambulance (by state and start date) ---------------------


def rsnat_cases() -> Iterator[Case]:
    table = rows("rsnat_ambulance.csv")
    starts = {r["state"]: dt.date.fromisoformat(r["start_date"]) for r in table}
    for row in table:
        state, start = row["state"], dt.date.fromisoformat(row["start_date"])
        later = sorted((d, s) for s, d in starts.items() if d > start)
        other = later[0][1] if later else NOT_ON_RSNAT_LIST
        for code in states(row["pa_codes"]):
            q = Case(f"rsnat-{code}-{state}", code, start, REQUIRED, state=state)
            yield q.at(
                "day-before-start",
                on=start - ONE_DAY,
                expect=NOT_REQUIRED,
                says=(f"it starts on {start}",),
            )
            yield q.at(f"from-{start}", sources=sources(row))
            yield q.at("any-place-pos41", pos="41")
            yield q.at(f"{TODAY}", on=TODAY)
            yield q.at(
                f"not-yet-in-{other}" if later else f"{other}-on-no-wave",
                state=other,
                expect=NOT_REQUIRED,
                says=(f"this service is in {other}",),
            )


@pytest.mark.parametrize("case", params(rsnat_cases()))
def test_each_rsnat_state_needs_prior_authorization_from_its_start_date(case: Case) -> None:
    assert_answer(case)


# -- the pack as a whole -------------------------------------------------------------------------


@pytest.mark.parametrize("name", CMS_FILES)
def test_the_package_copy_of_each_cms_list_is_byte_identical_to_shared(
    name: str, shared_dir: Path
) -> None:
    shipped = resources.files("precert.data.reference").joinpath("cms", name).read_bytes()
    assert shipped == (shared_dir / "refdata" / name).read_bytes()


@pytest.mark.parametrize(
    ("code", "state"), [("99213", None), ("A0425", "NJ"), ("E0100", "CA")], ids=str
)
def test_a_code_on_no_cms_list_is_not_required_with_the_packs_reason(
    code: str, state: str | None
) -> None:
    answer = Case("none", code, TODAY, NOT_REQUIRED, pos="22", state=state).ask()
    assert answer.decision is NOT_REQUIRED
    assert answer.matched_rules == []
    assert answer.reasons == [
        "Medicare FFS requires prior authorization only for services on CMS's prior-authorization "
        f"lists (hospital OPD, DMEPOS, WISeR, repetitive ambulance); {code} is not on any of them "
        "for this date, place and state."
    ]


def test_the_pack_is_medicare_fee_for_service_found_by_its_contractors_payer_ids() -> None:
    pack = medicare_pack()
    assert (pack.id, pack.name, pack.plans) == (
        "medicare",
        "Medicare fee-for-service (CMS)",
        ("medicare-ffs",),
    )
    assert pack.default_decision is NOT_REQUIRED
    ids = pack.x12_payer_ids
    assert list(ids) == sorted(set(ids))
    assert all(len(i) == 5 and i.isdigit() for i in ids)  # strings: leading zeros kept
    # Part A and Part B of an A/B MAC state (Novitas JH Texas), the four DME MACs, Railroad.
    assert {"04411", "04412", "16003", "17003", "18003", "19003", "00882"} <= set(ids)
    # One Part A and one Part B number for every state and DC.
    assert len(ids) > 2 * 51


def test_every_code_of_every_cms_list_is_in_the_pack() -> None:
    listed = {r["code"] for name in CMS_FILES[:3] for r in rows(name)}
    listed |= {c for r in rows("rsnat_ambulance.csv") for c in states(r["pa_codes"])}
    assert listed == {code for rule in medicare_pack().rules for code in rule.codes}


def test_every_rule_cites_its_source_and_flags_secondary_sources_in_its_notes() -> None:
    for rule in medicare_pack().rules:
        assert rule.source, rule.id
        if "secondary" in rule.source:
            assert "secondary" in rule.notes or "verify" in rule.notes, rule.id


def test_an_opd_answer_says_what_to_send_where_and_how_long_it_takes() -> None:
    answer = Case("opd", "15823", TODAY, REQUIRED, pos="22").ask()
    assert answer.processes == [
        {
            "term": "prior authorization",
            "reviews": "medical_necessity",
            "rule": "medicare-opd-blepharoplasty-15820",
        }
    ]
    assert answer.documents == ["medical records supporting medical necessity"]
    assert answer.turnaround == {"standard": "7 calendar days", "expedited": "2 business days"}
    assert answer.channels == [
        {"type": "portal", "address": "", "note": "the MAC's provider portal or esMD"},
        {"type": "fax", "address": "", "note": "the MAC's prior-authorization fax"},
    ]
    reasons = " ".join(answer.reasons)
    assert "Put the UTN from the decision on the claim" in reasons
    assert "a provisional affirmation is valid 120 days" in reasons


def test_an_opd_service_with_no_place_given_depends_on_the_place() -> None:
    answer = Case("opd", "22551", TODAY, CONDITIONAL).ask()
    assert answer.decision is CONDITIONAL
    assert answer.reasons[0].startswith(f"Depends on the place of service ({OPD_ONLY})")


def test_a_dmepos_answer_gives_the_seven_day_review_and_no_invented_expedited_time() -> None:
    answer = Case("dmepos", "K0856", TODAY, REQUIRED, state="TX").ask()
    assert answer.decision is REQUIRED
    assert answer.turnaround == {"standard": "7 calendar days"}


def test_an_rsnat_answer_explains_what_repetitive_means_and_that_mileage_needs_no_approval() -> (
    None
):
    reasons = " ".join(Case("rsnat", "A0428", TODAY, REQUIRED, state="SC").ask().reasons)
    assert "3 or more round trips in 10 days" in reasons
    assert "at least 1 round trip a week for at least 3 weeks" in reasons
    assert "A0425 (mileage) is an associated service and needs no prior authorization" in reasons
