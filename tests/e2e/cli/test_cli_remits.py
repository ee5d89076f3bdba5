"""`precert remits import FILE.835 --org NAME --json`: the remittance and the recovery items its
authorization denials became, printed as JSON. One process start: they are slow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.cli.conftest import CLINIC

Precert = Callable[..., Any]  # the runner from conftest.py: precert(*args) -> Result
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "835"


def test_import_prints_the_remittance_and_the_recovery_items_as_json(clinic: Precert) -> None:
    result = clinic(
        "remits", "import", FIXTURE / "authorization-denials.835", "--org", CLINIC, "--json"
    )
    assert result.code == 0, result
    view = json.loads(result.out)
    assert view["already_imported"] is False
    assert view["errors"] == []
    (remittance,) = view["remittances"]
    assert remittance["payment"] == {
        "check_number": "SYNCHK0001",
        "method": "CHK",
        "amount": "1200.00",
        "date": "2030-01-15",
        "production_date": "2030-01-14",
    }
    assert remittance["summary"]["authorization_related"] == 5
    items = {item["claim_id"]: item for item in view["recovery_items"]}
    assert sorted(items) == [
        "SYN-ABSENT-1",
        "SYN-DENIED-3",
        "SYN-EXCEEDED-2",
        "SYN-MISMATCH-4",
        "SYN-REMARK-5",
    ]
    assert items["SYN-EXCEEDED-2"] | {"id": "-", "file_id": "-", "letter": "-"} == {
        "id": "-",
        "file_id": "-",
        "letter": "-",
        "payer_id": "SYNPAYER01",
        "claim_id": "SYN-EXCEEDED-2",
        "payer_claim_number": "PCN0002",
        "line": 1,
        "code": "97110",
        "service_date": "2030-01-06",
        "cause": "authorization_exceeded",
        "action": "review",
        "amount": "300.00",
        "carcs": ["198"],
        "rarcs": [],
        "deadline": "2030-03-16",
        "status": "open",
        "authorization_number": None,
        "request_id": None,
        "evidence": items["SYN-EXCEEDED-2"]["evidence"],
        "note": "",
    }
    assert items["SYN-EXCEEDED-2"]["evidence"]["numbers_on_claim"] == ["AUTH22222"]
    assert result.err == ""
