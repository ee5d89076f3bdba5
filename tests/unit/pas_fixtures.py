"""Shared by the PAS tests: the IG examples copied from the corpora, and a realistic request."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from precert.domain.authorizations import (
    AuthorizationRequest,
    Coverage,
    Patient,
    ServiceLine,
    Urgency,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "davinci-pas"
NOW = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
ORDERING = "1234567893"
RENDERING = "1245319599"
FACILITY = "1679576722"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def first_type(path: Path) -> str:
    doc = load(path)
    if doc.get("resourceType") == "Bundle" and doc.get("entry"):
        return str(doc["entry"][0]["resource"]["resourceType"])
    return str(doc.get("resourceType"))


def request_examples() -> list[Path]:
    """Every IG example Bundle whose first entry is a Claim (submit, update and inquiry)."""
    return [p for p in sorted(EXAMPLES.glob("*/Bundle-*.json")) if first_type(p) == "Claim"]


def response_examples() -> list[Path]:
    """Every IG example response: Bundles led by a ClaimResponse, bare ClaimResponses and the
    OperationOutcome."""
    bundles = [
        p for p in sorted(EXAMPLES.glob("*/Bundle-*.json")) if first_type(p) == "ClaimResponse"
    ]
    return [
        *bundles,
        *sorted(EXAMPLES.glob("*/ClaimResponse-*.json")),
        *sorted(EXAMPLES.glob("*/OperationOutcome-*.json")),
    ]


def make_request(**changes: Any) -> AuthorizationRequest:
    """A synthetic patient's MRI and infusion request, two lines, three diagnoses, a facility."""
    values: dict[str, Any] = {
        "id": "req-pas-1",
        "organization_id": "org-1",
        "patient": Patient("Testpatient", "Synthetic", dt.date(1970, 1, 1), "ZZ-CANARY-789"),
        "coverage": Coverage("acme-health", "commercial", "ZZ-CANARY-789", "G-100"),
        "ordering_npi": ORDERING,
        "rendering_npi": RENDERING,
        "facility_npi": FACILITY,
        "lines": (
            ServiceLine("70551", 1, dt.date(2030, 3, 2), dt.date(2030, 3, 2), "22", ("G43.909",)),
            ServiceLine(
                "J1745", 3, dt.date(2030, 3, 2), dt.date(2030, 4, 30), "11", ("K50.90", "G43.909")
            ),
        ),
        "created_at": NOW,
        "updated_at": NOW,
        "urgency": Urgency.STANDARD,
    }
    values.update(changes)
    return AuthorizationRequest(**values)


def resource(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
