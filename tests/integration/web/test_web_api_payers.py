"""The payers API, health, OpenAPI and /docs, and the error shape for paths that do not exist."""

from __future__ import annotations

import httpx

from precert.services.catalog import shipped_packs


def test_the_payer_list_shows_every_configured_payer_with_its_plans_version_and_rule_count(
    http: httpx.Client,
) -> None:
    response = http.get("/api/v1/payers")

    assert response.status_code == 200
    payers = {p["id"]: p for p in response.json()["payers"]}
    assert set(payers) == {pack.id for pack in shipped_packs()} | {"web-test-payer"}
    assert payers["web-test-payer"] == {
        "id": "web-test-payer",
        "name": "Web Test Health (synthetic)",
        "plans": ["commercial", "medicaid"],
        "version": "2026.11-test",
        "rule_count": 8,
        "synthetic": True,
        "origin": "imported",
    }


def test_one_payer_shows_its_rules_with_their_conditions_and_sources(http: httpx.Client) -> None:
    response = http.get("/api/v1/payers/web-test-payer")

    assert response.status_code == 200
    payer = response.json()
    assert payer["default_decision"] == "unknown"
    assert payer["contact"] == [
        {"type": "phone", "address": "+1-555-0100", "note": "provider services"}
    ]
    rules = {rule["id"]: rule for rule in payer["rules"]}
    assert len(rules) == payer["rule_count"] == 8
    botox = rules["wtp-botulinum-toxin"]
    assert botox["codes"] == ["J0585", "J0586", "J0587", "J0588"]
    assert botox["pos"] == ["19", "22"]
    assert botox["conditions"] == {"with_codes": ["64612", "64615"]}
    assert rules["wtp-mri-brain"]["source"] == "https://web-test-payer.example/lists/imaging"
    assert rules["wtp-maternity"]["turnaround"] == {
        "standard": "2 business days",
        "expedited": None,
    }


def test_an_unknown_payer_id_is_not_found_and_close_ids_are_suggested(http: httpx.Client) -> None:
    response = http.get("/api/v1/payers/web-test-payr")

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "NotFound"
    assert body["message"].startswith(
        "payer: no payer 'web-test-payr' is configured. Did you mean web-test-payer"
    )
    assert body["issues"][0]["code"] == "unknown-payer"


def test_health_answers_ok(http: httpx.Client) -> None:
    response = http.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_openapi_document_describes_the_check_request_schema(http: httpx.Client) -> None:
    response = http.get("/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/requirements/check" in schema["paths"]
    assert "/api/v1/payers/{payer_id}" in schema["paths"]
    service = schema["components"]["schemas"]["ServiceIn"]
    assert service["additionalProperties"] is False
    assert service["required"] == ["payer", "code"]
    request = schema["paths"]["/api/v1/requirements/check"]["post"]["requestBody"]
    body = request["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/CheckRequest")
    assert schema["components"]["schemas"]["CheckRequest"]["maxItems"] == 1000


def test_docs_serve_swagger_ui_from_this_server_not_a_cdn(http: httpx.Client) -> None:
    page = http.get("/docs")

    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert "cdn." not in page.text and "https://" not in page.text
    script = http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_a_path_that_does_not_exist_answers_in_the_error_shape(http: httpx.Client) -> None:
    response = http.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {
        "error": "NotFound",
        "message": "Nothing at /api/v1/nothing-here: the API is under /api/v1 (see /docs), "
        "the check page is /.",
        "issues": [],
        "retryable": False,
    }


def test_a_browser_asking_for_a_missing_page_gets_the_message_as_html(http: httpx.Client) -> None:
    response = http.get("/nothing-here", headers={"accept": "text/html"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Nothing at /nothing-here" in response.text
