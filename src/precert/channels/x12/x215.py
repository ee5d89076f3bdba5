"""005010X215, the 278 health care services review inquiry and its response, as data for
`implementation.check_set` (the same HL loops as the 278 request in x217.py, another ST03).

What we relied on (public, third-party descriptions; the TR3 itself is X12's and was not read):
- X215 is "Health Care Services Review - Inquiry and Response (278)": ONE guide for both the
  inquiry and the payer's answer (Da Vinci PAS IG, "Underlying Technologies"; Stedi's X215
  pages "278 X215 ... Inquiry" and "278 X215 ... Response"). 005010X216 is a different guide,
  the 278 Notification and its Acknowledgment (Stedi "278 X216 ... Acknowledgment": loops
  Information Source / Information Receiver / Subscriber with REF "Notification Receipt
  Number"). So the inquiry's response is an X215 278, not an X216: the brief that asked for
  "the 278 Inquiry (X215) and its response (X216)" mixed the two up.
- Loops as in X217: 2000A UMO (NM1*X3), 2000B requester, 2000C subscriber, 2000D dependent,
  2000E patient event (TRN patient event tracking number, UM, HCR in the response, REF, DTP,
  2010EA providers), 2000F service (TRN, UM, HCR, DTP*472, SV1/SV2); AAA may appear in the
  response at every level (Stedi X215 Response page; an EDI sample published with EdiFabric's
  X215 template: TRN*1 and TRN*2 in 2000E, HCR*A1*<number>, DTP*AAH, 2000F HCR).
- REF*BB is the authorization (certification) number the UMO gave the earlier review, not the
  requester's trace (4010 X094A1 2000F REF "Previous Certification Identification", eedi.net;
  X217 calls it "Previous Review Authorization Number").
- BHT01 0007; BHT02 13 (request) for the inquiry and 11 (response) for the answer, as in X217.
  Sources disagree here: the EdiFabric X215 sample carries BHT02 49 and a BHT06 "RD"; we write
  13/11 and accept only those, so a payer that sends 49 shows up as a located BHT02 finding
  rather than being guessed at. Check the X215 TR3 before widening this.
"""

from __future__ import annotations

from precert.channels.x12.implementation import (
    Implementation,
    SegmentRule,
    d8_check,
    time_check,
)
from precert.channels.x12.x217 import X217, _e

VERSION = "005010X215"

# BHT02, element 353: what this 278 is for.
BHT02_PURPOSES: dict[str, str] = {"13": "inquiry (request)", "11": "response"}

BHT = SegmentRule(
    "BHT",
    "beginning of hierarchical transaction",
    "R",
    1,
    (
        _e(1, "structure code", "R", 4, codes={"0007"}),
        _e(2, "purpose", "R", 2, codes=BHT02_PURPOSES),
        _e(3, "reference", "R", 50),
        _e(4, "date", "R", 8, min_length=8, check=d8_check),
        _e(5, "time", "R", 8, min_length=4, check=time_check),
    ),
)

# The loops are X217's (same HL levels, same segments we write and read); an AAA*N anywhere
# ends the answer early, as in the X217 response.
X215 = Implementation("278", VERSION, (BHT,), X217.loops, stops_at=("AAA", "N"))
