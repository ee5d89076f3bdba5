"""A small 837P (005010X222A1) writer: claims with the parts the claim check reads (member, payer,
CLM05 place of service, claim and line REF*G1, rendering 2310B, service facility 2310C, lines with
SV1 and DTP*472), laid out as the TR3 orders them, so that pyx12 accepts what it writes.

For the demo (`precert demo load` scrubs a file made from the demo's approvals) and for tests; a
billing system writes the real ones. Patient names, addresses and birth dates are fixed
placeholders: the claim check needs the member id only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    code: str
    date: str  # YYYYMMDD
    units: int = 1
    pos: str = ""
    number: str = ""  # a line-level REF*G1


@dataclass(frozen=True)
class Claim:
    claim_id: str
    member_id: str
    lines: Sequence[Line]
    payer_id: str = "CORAL1"
    pos: str = "22"
    number: str = ""  # a claim-level REF*G1
    rendering_npi: str = ""
    facility_npi: str = ""
    diagnoses: Sequence[str] = field(default=("M5450",))


BILLING_NPI = "1234567893"


def build_837(claims: Sequence[Claim], *, control: int = 1) -> str:
    """One interchange, one ST, the claims in order (one subscriber HL each)."""
    body = [
        "BHT*0019*00*TESTBATCH01*20261129*1200*CH",
        "NM1*41*2*TEST BILLING SERVICE*****46*TESTSUB1",
        "PER*IC*DESK*TE*5555550100",
        "NM1*40*2*TEST CLEARINGHOUSE*****46*TESTREC1",
        "HL*1**20*1",
        f"NM1*85*2*TEST CLINIC GROUP*****XX*{BILLING_NPI}",
        "N3*100 MAIN ST",
        "N4*ANYTOWN*FL*32801",
        "REF*EI*123456789",
    ]
    hl = 1
    for claim in claims:
        hl += 1
        charge = sum(100 * line.units for line in claim.lines)
        body += [
            f"HL*{hl}*1*22*0",
            "SBR*P*18*******MC",
            f"NM1*IL*1*TESTPATIENT*ALPHA****MI*{claim.member_id}",
            "N3*1 TEST WAY",
            "N4*ANYTOWN*FL*32801",
            "DMG*D8*19800201*F",
            f"NM1*PR*2*TEST PAYER*****PI*{claim.payer_id}",
            f"CLM*{claim.claim_id}*{charge:.2f}***{claim.pos}:B:1*Y*A*Y*Y",
        ]
        if claim.number:
            body.append(f"REF*G1*{claim.number}")
        codes = [f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(claim.diagnoses)]
        body.append("HI*" + "*".join(codes))
        if claim.rendering_npi:
            body += [f"NM1*82*1*TESTDOCTOR*RENDER****XX*{claim.rendering_npi}"]
        if claim.facility_npi:
            body += [
                f"NM1*77*2*TEST FACILITY*****XX*{claim.facility_npi}",
                "N3*200 CARE AVE",
                "N4*ANYTOWN*FL*32801",
            ]
        for n, line in enumerate(claim.lines, start=1):
            pos = f"*{line.pos}" if line.pos else "*"
            body += [
                f"LX*{n}",
                f"SV1*HC:{line.code}*{100 * line.units:.2f}*UN*{line.units}{pos}**1",
                f"DTP*472*D8*{line.date}",
            ]
            if line.number:
                body.append(f"REF*G1*{line.number}")
    segments = ["ST*837*0001*005010X222A1", *body, f"SE*{len(body) + 2}*0001"]
    isa = (
        "ISA*00*          *00*          *ZZ*TESTSUB1       *ZZ*TESTREC1       *261129*1200*^*"
        f"00501*{control:09d}*0*T*:"
    )
    return (
        "~\n".join(
            [
                isa,
                f"GS*HC*TESTSUB1*TESTREC1*20261129*1200*{control}*X*005010X222A1",
                *segments,
                f"GE*1*{control}",
                f"IEA*1*{control:09d}",
            ]
        )
        + "~\n"
    )
