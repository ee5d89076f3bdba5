"""What the modern wizard decides and suggests: decisions by member id prefix (like the payer
simulator's demo prefixes), the prescreen's "no authorization required" procedure codes, and the
code lists behind the two autocomplete fields. Synthetic reference data only.

Member id prefixes: SIM-PEND -> pended; SIM-NA -> no authorization required; SIM-DENY and
SIM-INFO -> pended at submission, then (after the portal's decision delay) denied or more
information requested on the status pages; anything else -> approved with an authorization number.
"""

from __future__ import annotations

import datetime as dt

SERVICE_TYPES = ("Imaging", "Surgery", "Therapy", "Durable medical equipment")
IMAGING = "Imaging"

PROCEDURES: dict[str, str] = {
    "70551": "MRI brain without contrast",
    "72141": "MRI cervical spine without contrast",
    "72148": "MRI lumbar spine without contrast",
    "72149": "MRI lumbar spine with contrast",
    "73721": "MRI lower extremity joint without contrast",
    "74177": "CT abdomen and pelvis with contrast",
    "22612": "Lumbar spinal fusion, posterior",
    "27447": "Total knee arthroplasty",
    "29881": "Knee arthroscopy with meniscectomy",
    "97110": "Therapeutic exercise, each 15 minutes",
    "99213": "Office visit, established patient",
    "E0601": "Continuous positive airway pressure device",
}
# The prescreen answers "no authorization required" for these at once.
PRESCREEN_NOT_REQUIRED = frozenset({"99213"})

DIAGNOSES: dict[str, str] = {
    "G43.909": "Migraine, unspecified",
    "G47.33": "Obstructive sleep apnea",
    "M17.11": "Unilateral primary osteoarthritis, right knee",
    "M43.16": "Spondylolisthesis, lumbar region",
    "M23.221": "Derangement of posterior horn of medial meniscus, right knee",
    "M54.16": "Radiculopathy, lumbar region",
    "M54.50": "Low back pain, unspecified",
    "R51.9": "Headache, unspecified",
}

# decision key -> (what the confirmation shows, what the status pages show once decided)
APPROVED, PENDED, NOT_REQUIRED, DENIED, MORE_INFO = (
    "approved",
    "pended",
    "not_required",
    "denied",
    "more_info",
)
CONFIRMATION_TEXT = {
    APPROVED: "Approved",
    PENDED: "Pended",
    NOT_REQUIRED: "No authorization required",
    DENIED: "Pended",
    MORE_INFO: "Pended",
}
STATUS_TEXT = {
    APPROVED: "Approved",
    PENDED: "Pended",
    NOT_REQUIRED: "No authorization required",
    DENIED: "Denied",
    MORE_INFO: "More information requested",
}
DENIAL_REASON = "Medical necessity is not established by the records sent"
INFORMATION_REQUESTED = "Notes from six weeks of conservative therapy"


def decide(member_id: str) -> str:
    """The decision for a request, from the member id's prefix."""
    member = member_id.strip().upper()
    for prefix, decision in (
        ("SIM-PEND", PENDED),
        ("SIM-NA", NOT_REQUIRED),
        ("SIM-DENY", DENIED),
        ("SIM-INFO", MORE_INFO),
    ):
        if member.startswith(prefix):
            return decision
    return APPROVED


def status_now(
    decision: str, submitted_at: dt.datetime, now: dt.datetime, delay: dt.timedelta
) -> str:
    """The status key the status pages show now: denials and information requests stay pended
    until the decision delay has passed."""
    if decision in (DENIED, MORE_INFO) and now < submitted_at + delay:
        return PENDED
    return decision


def suggestions(codes: dict[str, str], query: str, limit: int = 8) -> list[dict[str, str]]:
    """Codes starting with the query (ignoring case and dots), then descriptions containing it."""
    q = query.strip().upper()
    if not q:
        return []
    bare = q.replace(".", "")
    first = [c for c in codes if c.replace(".", "").startswith(bare)]
    then = [c for c in codes if c not in first and q.lower() in codes[c].lower()]
    return [{"code": c, "description": codes[c]} for c in (first + then)[:limit]]
