"""Acceptance 3, the logs: a canary patient goes through every door a patient's data comes in by
(the API, a request refused on purpose, a document upload, a schedule import, the follow-up
sweep, viewing it) on a real `precert serve` at log level DEBUG, and neither the canary's name
nor its member id appears in the server's logs, stdout or stderr, or in the import's output.

The second start is also where `precert serve` is shown running the job consumer itself on the
embedded default (the follow-up flags the request with no `precert worker`) and stopping server and
consumer cleanly on SIGTERM: one server start proves both (test_cli_serve_jobs.py has the modes
that run no consumer). The first start also shows the server answering a requirement check as the
CLI does."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path

import httpx
from tests.e2e.cli.conftest import FIXTURE_PAYER, SPECIALIST, Precert, Template, copy_of
from tests.e2e.cli.serve_process import serving

from precert.services.demo import _pdf

CANARY_NAME = ("Canarypatient", "Zzyzx")
CANARY_MEMBER = "CANARY123456"
CANARIES = (*CANARY_NAME, "Canarypatient Zzyzx", CANARY_MEMBER, "CANARY 123456")
NPI = "1234567893"
FLAG_POLLS = 1800
HEADER = (
    "patient_first_name,patient_last_name,birth_date,member_id,payer_id,plan,state,code,units,"
    "pos,diagnoses,service_date,ordering_npi,rendering_npi,appointment_id"
)


def _body(when: str, **patient: str) -> dict[str, object]:
    return {
        "payer_id": "medicare",
        "plan": "medicare-ffs",
        "state": "TX",
        "urgency": "standard",
        "patient": {
            "first_name": CANARY_NAME[0],
            "last_name": CANARY_NAME[1],
            "birth_date": "1970-07-07",
            "member_id": CANARY_MEMBER,
            **patient,
        },
        "ordering_npi": NPI,
        "rendering_npi": NPI,
        "services": [
            {"code": "15823", "units": 1, "pos": "22", "diagnoses": ["H02.831"], "from": when}
        ],
    }


def test_the_canary_never_reaches_the_logs_of_a_serve_that_follows_up_itself(
    clinic_template: Template, tmp_path: Path
) -> None:
    precert = copy_of(clinic_template, tmp_path)  # its specialist SPECIALIST and API token
    headers = {"Authorization": f"Bearer {clinic_template.token}"}
    soon = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    debug = {"PRECERT_LOG_LEVEL": "DEBUG"}
    outputs: list[str] = []

    with serving(tmp_path, name="first", **debug) as served:
        api = httpx.Client(base_url=served.base, headers=headers, timeout=60)
        created = api.post("/api/v1/requests", json=_body(soon))
        assert created.status_code == 201, created.text
        assert created.json()["needs_attention"] is None  # only the follow-up job flags it
        request_id = created.json()["id"]
        # Refused on purpose, the canary in the bad fields: the answer may name the fields only.
        refused = api.post(
            "/api/v1/requests",
            json=_body(soon, birth_date=f"{CANARY_NAME[0]}-{CANARY_MEMBER}", member_id=" "),
        )
        assert refused.status_code == 422, refused.text
        pdf = _pdf("Clinical notes", " ".join(CANARY_NAME))
        files = {
            "file": (f"{CANARY_NAME[1]}-{CANARY_MEMBER}.pdf", io.BytesIO(pdf), "application/pdf")
        }
        uploaded = api.post(
            f"/api/v1/requests/{request_id}/documents", data={"kind": "other"}, files=files
        )
        assert uploaded.status_code == 201, uploaded.text
        assert api.get(f"/api/v1/requests/{request_id}").status_code == 200
        assert api.get("/api/v1/requests", params={"status": "draft"}).status_code == 200
        _answers_like_the_cli(api, precert)
    outputs.append(served.output())
    assert served.exit_code == 0, served.output()

    schedule = tmp_path / f"{CANARY_NAME[1]}.csv"
    row = (
        f"{CANARY_NAME[0]},{CANARY_NAME[1]},1970-07-07,{CANARY_MEMBER}-2,medicare,medicare-ffs,"
        f"TX,15823,1,22,H02.831,{soon},{NPI},{NPI},APPT-CANARY"
    )
    bad = row.replace("1970-07-07", CANARY_MEMBER).replace("APPT-CANARY", "APPT-BAD")
    schedule.write_text(f"{HEADER}\n{row}\n{bad}\n", encoding="utf-8")
    imported = precert("requests", "import", schedule, "--as", SPECIALIST)
    assert imported.code == 1, imported  # the bad row is reported, the good one imported
    outputs.append(imported.out + imported.err)

    # A second start sweeps at once: the canary's service is in 3 days, so it is flagged, by the
    # consumer `precert serve` runs itself (no `precert worker` runs here).
    with serving(tmp_path, name="second", **debug) as served:
        api = httpx.Client(base_url=served.base, headers=headers, timeout=60)
        flagged = None
        for _ in range(FLAG_POLLS):
            flagged = api.get(f"/api/v1/requests/{request_id}").json().get("needs_attention")
            if flagged:
                break
            time.sleep(0.1)
        assert flagged and "is not approved yet" in flagged, served.output()
    outputs.append(served.output())
    assert served.exit_code == 0, served.output()  # SIGTERM stops server and consumer cleanly
    log = served.output()
    assert "jobs: running here" in log
    assert "embedded job consumer stopped" in log
    assert log.rstrip().endswith("precert stopped")
    assert (tmp_path / "var" / "jobs.sqlite3").exists()

    logs = "\n".join(outputs)
    assert "DEBUG" in logs and "Executing precert.worker.tasks.follow_up_task" in logs
    leaked = [canary for canary in CANARIES if canary.lower() in logs.lower()]
    assert leaked == [], _around(logs, leaked)


def _answers_like_the_cli(api: httpx.Client, precert: Precert) -> None:
    """The server answers a requirement check as `precert check` does, and serves the work queue
    page (checked on this server rather than by starting another)."""
    service = {"payer": FIXTURE_PAYER, "code": "70551", "pos": "22", "date": "2026-12-01"}
    response = api.post("/api/v1/requirements/check", json=[service])
    cli = precert(
        "check", "--payer", FIXTURE_PAYER, "--code", "70551", "--pos", "22", "--date",
        "2026-12-01", "--json",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert cli.code == 0, cli
    assert response.json()["services"] == json.loads(cli.out)["services"]
    assert response.json()["services"][0]["decision"] == "required"
    page = api.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


def _around(text: str, found: list[str]) -> str:
    """Where the first leak sits, for the failure message (the canaries are synthetic)."""
    at = text.lower().find(found[0].lower())
    return text[max(0, at - 300) : at + 300]
