"""The "Check a service" form: query string in, raw services out, issues back onto their fields.

The form is plain GET (bookmarkable, read-only, so no CSRF token). Several codes typed together
are one encounter, so pairing rules (J0585 only with 64612) see each other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from precert.errors import Issue
from precert.services.requirements import FIELDS as SERVICE_FIELDS

# The service fields the form offers: every field a check takes except the patient's age (the page
# carries no patient data) and the encounter (the codes typed together are one encounter).
FIELDS: tuple[str, ...] = tuple(f for f in SERVICE_FIELDS if f not in ("age", "encounter"))
# Errors about anything else (a hand-edited URL) are shown above the form.
GENERAL = "form"
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class CheckForm:
    """What the person typed, kept as text so a page with errors shows it back unchanged."""

    values: dict[str, str]
    submitted: bool
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping[str, str], *, today: dt.date) -> CheckForm:
        values = {name: query.get(name, "").strip() for name in FIELDS}
        submitted = "code" in query
        if not submitted and not values["date"]:
            values["date"] = today.isoformat()
        return cls(values, submitted)

    @property
    def codes(self) -> list[str]:
        return _split(self.values["code"])

    def services(self) -> list[dict[str, object]]:
        """One raw service per code, sharing every other field (the services layer parses them)."""
        shared: dict[str, object] = {
            name: value
            for name, value in self.values.items()
            if value and name not in ("code", "diagnoses")
        }
        diagnoses = _split(self.values["diagnoses"])
        if diagnoses:
            shared["diagnoses"] = diagnoses
        codes = self.codes or [""]  # no code at all: let the service say it is required
        if len(codes) > 1:
            shared["encounter"] = "form"
        return [{**shared, "code": code} for code in codes]

    def context_line(self) -> list[str]:
        """The circumstances that were given, for the answer's heading ("POS 22", "TX")."""
        v = self.values
        parts = [v["plan"], f"POS {v['pos']}" if v["pos"] else "", v["setting"], v["state"].upper()]
        if v["units"]:
            parts.append(f"{v['units']} units/visits")
        if v["network"] == "out":
            parts.append("out of network")
        return [part for part in parts if part]

    def add_issues(self, issues: list[Issue]) -> None:
        """File each issue under the field it names, without the field name the page shows."""
        for issue in issues:
            name = field_of(issue.location)
            message = issue.message.removeprefix(f"{issue.location}: ")
            target = self.errors.setdefault(name if name in FIELDS else GENERAL, [])
            if message not in target:  # two codes with the same problem: say it once
                target.append(message)


def form_location(index: int, name: str) -> str:
    """Every code shares the form's fields, so a problem's location is just the field name."""
    return name


def field_of(location: str) -> str:
    """ "diagnoses[1]" -> "diagnoses"."""
    return location.split("[", 1)[0].split(".", 1)[0]


def _split(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text) if part]
