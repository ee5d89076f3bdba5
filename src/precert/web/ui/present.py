"""How answers read on a page: decision badges, labels for codes, and Jinja filters for them.

Wording lives here, not in templates, so every page says "Approval required" the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment

from precert.domain.codes import places_of_service
from precert.domain.rules import SETTINGS


@dataclass(frozen=True)
class DecisionView:
    label: str
    summary: str


DECISIONS: dict[str, DecisionView] = {
    "required": DecisionView(
        "Approval required", "Get the payer's approval before the service is delivered."
    ),
    "notification": DecisionView(
        "Notification", "Tell the payer before the service; it does not approve or deny."
    ),
    "conditional": DecisionView(
        "Conditional", "Depends on a fact not given here; see what it depends on below."
    ),
    "not_required": DecisionView(
        "Not required", "No approval is needed for this payer, plan, place and date."
    ),
    "unknown": DecisionView(
        "Unknown: verify with payer", "No rule covers this service. Verify with the payer."
    ),
}

REVIEWS = {
    "coverage": "coverage",
    "medical_necessity": "medical necessity",
    "both": "coverage and medical necessity",
}

CHANNELS = {
    "x12": "X12 278",
    "fhir-pas": "FHIR PAS",
    "portal": "Portal",
    "fax": "Fax",
    "phone": "Phone",
    "email": "Email",
}

SETTING_LABELS = {
    "inpatient": "Inpatient",
    "outpatient": "Hospital outpatient",
    "office": "Office",
    "asc": "Ambulatory surgical center",
    "home": "Home",
    "snf": "Skilled nursing facility",
    "emergency": "Emergency room",
    "telehealth": "Telehealth",
    "ambulance": "Ambulance",
}


def decision_view(decision: str) -> DecisionView:
    return DECISIONS.get(decision, DECISIONS["unknown"])


REASON_TAGS = {
    "applied": "Applies",
    "depends": "Depends on",
    "missed": "Did not apply",
    "default": "Not listed",
}


def reason_kind(reason: str, matched: list[dict[str, str]]) -> str:
    """applied, depends, missed or default: how a reason line is tagged and styled."""
    if reason.startswith("Did not apply"):
        return "missed"
    if reason.startswith("Depends on"):
        return "depends"
    if any(f"[{rule['id']}]" in reason for rule in matched):
        return "applied"
    return "default"  # the pack's answer for a code no rule covers


def reason_text(reason: str) -> str:
    """The reason without the lead word the style already says."""
    return reason.removeprefix("Did not apply: ").removeprefix("Depends on ")


_KIND_ORDER = {"applied": 0, "depends": 1, "default": 2, "missed": 3}


def reason_lines(reasons: list[str], matched: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(kind, text) per reason: what decided the answer first, rules that did not apply last."""
    lines = [(reason_kind(reason, matched), reason_text(reason)) for reason in reasons]
    return sorted(lines, key=lambda line: _KIND_ORDER[line[0]])


def is_link(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def place_choices() -> list[tuple[str, str]]:
    """Every CMS place of service as (code, "22 · On Campus-Outpatient Hospital")."""
    return [(code, f"{code} · {name}") for code, name in sorted(places_of_service().items())]


def setting_choices() -> list[tuple[str, str]]:
    return [(setting, SETTING_LABELS.get(setting, setting)) for setting in SETTINGS]


def register(env: Environment) -> None:
    env.globals.update(
        decision_view=decision_view,
        reason_lines=reason_lines,
        reason_tags=REASON_TAGS,
        is_link=is_link,
    )
    env.filters["reviews"] = lambda key: REVIEWS.get(key, key)
    env.filters["channel"] = lambda key: CHANNELS.get(key, key)
    env.filters["setting"] = lambda key: SETTING_LABELS.get(key, key)
