"""The Medicare contractors' X12 payer ids: what a claim to Medicare fee-for-service carries in
2010BB NM109 (and the MAC's receiver id), so the claim scrub can find the Medicare pack from an 837.

A/B MACs are addressed by CMS contractor number, one per jurisdiction, state and workload (Part A
institutional claims end in 1, Part B professional claims in 2); DME MACs by their jurisdiction's
number (16003 A, 17003 B, 18003 C, 19003 D, through CEDI); Railroad Medicare (the RRB specialty
MAC) by 00882. The numbering is CMS's, not a clearinghouse's: clearinghouses may use their own
aliases (Office Ally's legacy "10202" for Georgia Part B, from before the JJ renumbering), which
a team adds in its own pack overlay.

Sources (retrieved 2026-11-29; no single CMS list was found, so each row was checked against what
the search tool could reach, and the rest follows CMS's contractor numbering pattern — VERIFY a
jurisdiction against its MAC's 837 companion guide before relying on it):
- Stedi Payer Network, "Medicare Alabama Part B" 10112:
  https://www.stedi.com/healthcare/network?entry=JDNSN&page=0&search=CMS
- Stedi Payer Network, "Medicare Durable Medical Equipment Regional Carrier Jurisdiction C":
  https://www.stedi.com/healthcare/network/SLOBP
- Office Ally pre-enrollment instructions, "Medicare Northern Virginia (12202)" (Novitas JL, DC
  metro Part B): https://www.fill.io/MEDICARE-NORTHERN-VIRGINIA-12202-PRE-ENROLLMENT-INSTRUCTIONS-WHICH-FORM-S
- Office Ally pre-enrollment instruction titles "Medicare South Carolina Part B (11202)",
  "West Virginia Part B (11402)", "North Carolina Part B (11502)" (Palmetto JM):
  https://technodocbox.com/amp/74654792-Email/Medicare-part-b-hawaii-pre-enrollment-instructions-mr057.html
- NGS CEDI (the DME MACs' common gateway): https://www.ngscedi.com/web/ngscedi/acronyms
- MAC jurisdictions and their states: CMS, "Who are the MACs" (as in wiser_states.csv).
"""

from __future__ import annotations

from typing import NamedTuple


class Contractor(NamedTuple):
    payer_id: str
    jurisdiction: str  # "JE" ... "JN", "DME A" ... "DME D", "RRB"
    mac: str
    workload: str  # "Part A", "Part B", "DME", "Part B (Railroad)"
    area: str  # state or territory code(s), or "national"
    verified: bool = False  # True: seen in a source listed above


def _ab(
    jurisdiction: str, mac: str, prefix: str, area: str, *, verified_b: bool = False
) -> list[Contractor]:
    """The Part A (…1) and Part B (…2) numbers of one state's workload."""
    return [
        Contractor(f"{prefix}1", jurisdiction, mac, "Part A", area),
        Contractor(f"{prefix}2", jurisdiction, mac, "Part B", area, verified_b),
    ]


NORIDIAN = "Noridian Healthcare Solutions"
NOVITAS = "Novitas Solutions"
WPS = "Wisconsin Physicians Service"
NGS = "National Government Services"
CGS = "CGS Administrators"
PALMETTO = "Palmetto GBA"
FIRST_COAST = "First Coast Service Options"

CONTRACTORS: tuple[Contractor, ...] = (
    # JE (Noridian): California is split north (01112) and south (01182) for Part B.
    *_ab("JE", NORIDIAN, "0111", "CA"),
    Contractor("01182", "JE", NORIDIAN, "Part B", "CA (southern)"),
    *_ab("JE", NORIDIAN, "0121", "HI AS GU MP"),
    *_ab("JE", NORIDIAN, "0131", "NV"),
    # JF (Noridian)
    *_ab("JF", NORIDIAN, "0210", "AK"),
    *_ab("JF", NORIDIAN, "0220", "ID"),
    *_ab("JF", NORIDIAN, "0230", "OR"),
    *_ab("JF", NORIDIAN, "0240", "WA"),
    *_ab("JF", NORIDIAN, "0310", "AZ"),
    *_ab("JF", NORIDIAN, "0320", "MT"),
    *_ab("JF", NORIDIAN, "0330", "ND"),
    *_ab("JF", NORIDIAN, "0340", "SD"),
    *_ab("JF", NORIDIAN, "0350", "UT"),
    *_ab("JF", NORIDIAN, "0360", "WY"),
    # JH (Novitas)
    *_ab("JH", NOVITAS, "0411", "CO"),
    *_ab("JH", NOVITAS, "0421", "NM"),
    *_ab("JH", NOVITAS, "0431", "OK"),
    *_ab("JH", NOVITAS, "0441", "TX"),
    *_ab("JH", NOVITAS, "0710", "AR"),
    *_ab("JH", NOVITAS, "0720", "LA"),
    *_ab("JH", NOVITAS, "0730", "MS"),
    # JL (Novitas): 12202 also covers Northern Virginia (Arlington, Fairfax) for Part B.
    *_ab("JL", NOVITAS, "1210", "DE"),
    *_ab("JL", NOVITAS, "1220", "DC", verified_b=True),
    *_ab("JL", NOVITAS, "1230", "MD"),
    *_ab("JL", NOVITAS, "1240", "NJ"),
    *_ab("JL", NOVITAS, "1250", "PA"),
    # J5 (WPS)
    *_ab("J5", WPS, "0510", "IA"),
    *_ab("J5", WPS, "0520", "KS"),
    *_ab("J5", WPS, "0530", "MO"),
    *_ab("J5", WPS, "0540", "NE"),
    # J6 (NGS)
    *_ab("J6", NGS, "0610", "IL"),
    *_ab("J6", NGS, "0620", "MN"),
    *_ab("J6", NGS, "0630", "WI"),
    # J8 (WPS)
    *_ab("J8", WPS, "0810", "IN"),
    *_ab("J8", WPS, "0820", "MI"),
    # J15 (CGS)
    *_ab("J15", CGS, "1510", "KY"),
    *_ab("J15", CGS, "1520", "OH"),
    # JJ (Palmetto)
    *_ab("JJ", PALMETTO, "1011", "AL", verified_b=True),
    *_ab("JJ", PALMETTO, "1021", "GA"),
    *_ab("JJ", PALMETTO, "1031", "TN"),
    # JK (NGS): New York Part B is split upstate (13202), downstate (13282) and Queens (13292).
    *_ab("JK", NGS, "1310", "CT"),
    *_ab("JK", NGS, "1320", "NY"),
    Contractor("13282", "JK", NGS, "Part B", "NY (downstate)"),
    Contractor("13292", "JK", NGS, "Part B", "NY (Queens)"),
    *_ab("JK", NGS, "1411", "ME"),
    *_ab("JK", NGS, "1421", "MA"),
    *_ab("JK", NGS, "1431", "NH"),
    *_ab("JK", NGS, "1441", "RI"),
    *_ab("JK", NGS, "1451", "VT"),
    # JM (Palmetto)
    *_ab("JM", PALMETTO, "1120", "SC", verified_b=True),
    *_ab("JM", PALMETTO, "1130", "VA"),
    *_ab("JM", PALMETTO, "1140", "WV", verified_b=True),
    *_ab("JM", PALMETTO, "1150", "NC", verified_b=True),
    # JN (First Coast)
    *_ab("JN", FIRST_COAST, "0910", "FL"),
    *_ab("JN", FIRST_COAST, "0920", "PR"),
    *_ab("JN", FIRST_COAST, "0930", "VI"),
    # DME MACs (claims go through CEDI, routed by the beneficiary's state).
    Contractor("16003", "DME A", NORIDIAN, "DME", "CT DE DC ME MD MA NH NJ NY PA RI VT"),
    Contractor("17003", "DME B", CGS, "DME", "IL IN KY MI MN OH WI"),
    Contractor("18003", "DME C", CGS, "DME", "southeast, TX to VA, PR VI"),
    Contractor("19003", "DME D", NORIDIAN, "DME", "west and midwest, AK HI and the Pacific"),
    # Railroad Medicare: the RRB specialty MAC (Palmetto) pays Part B for railroad retirees.
    Contractor("00882", "RRB", PALMETTO, "Part B (Railroad)", "national"),
)


def medicare_payer_ids() -> list[str]:
    """Every contractor's payer id, sorted, each once (the pack's payer.x12_payer_ids)."""
    ids = [c.payer_id for c in CONTRACTORS]
    if len(ids) != len(set(ids)):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"payer ids listed twice: {', '.join(duplicated)}")
    return sorted(ids)
