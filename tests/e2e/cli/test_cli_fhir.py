"""`precert fhir build-pas` and `precert fhir validate-pas`, run as the installed command."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "davinci-pas"

REQUEST: dict[str, Any] = {
    "payer_id": "acme-health",
    "plan": "commercial",
    "state": "TX",
    "urgency": "expedited",
    "patient": {
        "first_name": "Canaryfirst",
        "last_name": "Canarylast",
        "birth_date": "1970-01-01",
        "member_id": "ZZ-CANARY-321",
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1245319599",
    "facility_npi": "1679576722",
    "services": [
        {"code": "70551", "units": 1, "pos": "22", "diagnoses": ["G43.909"], "from": "2030-03-02"},
        {"code": "J1745", "units": 3, "pos": "11", "from": "2030-03-02", "to": "2030-04-30"},
    ],
}


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _without_diagnoses(request: dict[str, Any]) -> dict[str, Any]:
    services = [{k: v for k, v in s.items() if k != "diagnoses"} for s in request["services"]]
    return {**request, "services": services}


def test_build_pas_prints_a_bundle_that_validate_pas_accepts(
    precert: Precert, tmp_path: Path
) -> None:
    request = _write(tmp_path / "request.json", REQUEST)
    built = precert("fhir", "build-pas", "--request", request)
    assert built.code == 0, built
    bundle = json.loads(built.out)
    claim = bundle["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim" and claim["use"] == "preauthorization"
    assert [i["productOrService"]["coding"][0]["code"] for i in claim["item"]] == ["70551", "J1745"]
    assert claim["priority"]["coding"][0]["code"] == "stat"

    checked = precert("fhir", "validate-pas", _write(tmp_path / "bundle.json", bundle))
    assert checked.code == 0, checked
    assert "valid PAS request Bundle" in checked.out

    # The same file gives the same Bundle: its id is the file's content hash, and the same id
    # builds the same identities (tests/unit/test_pas_bundle.py, without a second process start).
    digest = hashlib.sha256(request.read_bytes()).hexdigest()[:16]
    assert bundle["identifier"]["value"] == f"cli-{digest}"
    # No diagnoses in this one: the process then skips loading the ICD-10-CM code set (~2 s).
    plain = _write(tmp_path / "plain.json", _without_diagnoses(REQUEST))
    named = json.loads(precert("fhir", "build-pas", "--request", plain, "--id", "req-42").out)
    assert named["identifier"]["value"] == "req-42"


def test_build_pas_names_each_problem_in_the_request_without_phi(
    precert: Precert, tmp_path: Path
) -> None:
    body = {
        **REQUEST,
        "ordering_npi": "1234567890",
        "services": [{"code": "7055", "from": "2030-03-02"}],
    }
    result = precert("fhir", "build-pas", "--request", _write(tmp_path / "bad.json", body))
    assert result.code == 2, result
    assert "ordering_npi" in result.err and "services[0].code" in result.err
    assert "Canary" not in result.err + result.out


def test_validate_pas_accepts_an_ig_example(precert: Precert) -> None:
    example = EXAMPLES / "2.2.1" / "Bundle-ReferralAuthorizationBundleExample.json"
    result = precert("fhir", "validate-pas", example)
    assert result.code == 0, result


def test_validate_pas_lists_located_issues_and_exits_1(precert: Precert, tmp_path: Path) -> None:
    example = EXAMPLES / "2.2.1" / "Bundle-SurgicalRequestBundleExample.json"
    bundle = json.loads(example.read_text(encoding="utf-8"))
    claim = bundle["entry"][0]["resource"]
    claim["use"] = "claim"
    del claim["item"][0]["productOrService"]
    result = precert("fhir", "validate-pas", _write(tmp_path / "broken.json", bundle))
    assert result.code == 1, result
    assert "Bundle.entry[0].resource.use:" in result.err
    assert "Bundle.entry[0].resource.item[0].productOrService:" in result.err
    assert "2 problem(s)" in result.err


def test_validate_pas_says_what_is_wrong_with_a_file_that_is_not_json(
    precert: Precert, tmp_path: Path
) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{not json", encoding="utf-8")
    result = precert("fhir", "validate-pas", path)
    assert result.code == 2, result
    assert "notes.json: not valid JSON" in result.err
    missing = precert("fhir", "validate-pas", tmp_path / "absent.json")
    assert missing.code == 2 and "cannot read the file" in missing.err
