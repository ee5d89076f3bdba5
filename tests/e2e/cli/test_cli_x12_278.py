"""`precert x12 build-278`, and `validate` / `ack` on the 278 it prints and on broken copies of it,
run as the installed command."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.cli.conftest import runner

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result

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


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The 278 `build-278 --id req-42 --attempt 2` prints for REQUEST, built once for the module
    (a build is a process start that loads the ICD-10-CM code set)."""
    home = tmp_path_factory.mktemp("x12-278")
    request = home / "request.json"
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    result = runner(home)(
        "x12", "build-278", "--request", request, "--id", "req-42", "--attempt", "2"
    )
    assert result.code == 0, result
    return result.out


def test_build_278_prints_a_278_that_validate_accepts(
    built: str, precert: Precert, tmp_path: Path
) -> None:
    assert "ST*278*" in built and "*005010X217~" in built
    assert "TRN*1*req-42.2*9PRECERT00~" in built
    assert "UM*HS*I*62*22:B**U~" in built  # expedited
    assert "SV1*HC:J1745**UN*3~" in built
    path = tmp_path / "request.x12"
    path.write_text(built)
    checked = precert("x12", "validate", path)
    assert checked.code == 0, checked
    assert "278" in checked.out
    acked = precert("x12", "ack", path)
    assert acked.code == 0 and "IK5*A~" in acked.out, acked


def test_validate_and_ack_locate_a_bad_npi_in_a_278(
    built: str, precert: Precert, tmp_path: Path
) -> None:
    text = built.replace("XX*1245319599", "XX*1245319598")
    assert text != built
    path = tmp_path / "bad.x12"
    path.write_text(text)
    checked = precert("x12", "validate", path)
    assert checked.code == 1, checked
    assert "segment 15 (NM1) element 09: NM109 (NPI)" in checked.err
    assert "check digit" in checked.err
    acked = precert("x12", "ack", path)
    assert acked.code == 0, acked
    assert "IK3*NM1*15**8~" in acked.out and "IK4*9**7*1245319598~" in acked.out
    assert "IK5*R*5~" in acked.out


def test_build_278_refuses_a_bad_request_body(precert: Precert, tmp_path: Path) -> None:
    # No diagnoses: the process then skips loading the ICD-10-CM code set (~2 s).
    services = [{k: v for k, v in s.items() if k != "diagnoses"} for s in REQUEST["services"]]
    body = dict(REQUEST, ordering_npi="1234567890", services=services)
    request = tmp_path / "bad.json"
    request.write_text(json.dumps(body), encoding="utf-8")
    result = precert("x12", "build-278", "--request", request)
    assert result.code == 2, result
    assert "ordering_npi" in result.err
    request.write_text("{not json", encoding="utf-8")
    assert precert("x12", "build-278", "--request", request).code == 2
