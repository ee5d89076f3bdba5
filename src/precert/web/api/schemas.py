"""The API's request and response models, so /docs and /openapi.json describe the real shapes.

Requests are validated here only for shape (types, unknown keys, list length); what a value means
(is 99x a place of service?) is the services layer's job, so every surface says it the same way.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel

from precert.domain.rules import PLAN_TYPES, SETTINGS

MAX_SERVICES = 1_000


def _number_as_text(value: object) -> object:
    # Encounters are often numbered (1, 2...) in JSON; the service groups them as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ServiceIn(BaseModel):
    """One service to check. Only `payer` and `code` are required; give what you know."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"payer": "medicare", "code": "64612", "pos": "22", "date": "2026-12-01"},
            ]
        },
    )

    payer: str = Field(description="Payer id, as listed by GET /api/v1/payers.")
    code: str = Field(description="CPT (5 digits, or 4 digits + F/T) or HCPCS Level II code.")
    plan: str | None = Field(
        None, description=f"Plan type; one of the payer's plans ({', '.join(PLAN_TYPES)})."
    )
    pos: str | None = Field(None, description="Two-digit CMS place-of-service code, e.g. 22.")
    setting: str | None = Field(
        None, description=f"Care setting, instead of or with pos: {', '.join(SETTINGS)}."
    )
    state: str | None = Field(None, description="Two-letter US state or territory, e.g. TX.")
    date: str | None = Field(
        None,
        description="Date of service, YYYY-MM-DD; today when omitted.",
        json_schema_extra={"format": "date"},
    )
    units: int | None = Field(None, description="Units or visits (therapy thresholds).")
    diagnoses: list[str] | None = Field(None, description='ICD-10-CM codes, e.g. ["M17.11"].')
    dx: list[str] | None = Field(None, description="Same as diagnoses (a shorter key).")
    network: str | None = Field(None, description="in or out (of network); in when omitted.")
    age: int | None = Field(None, description="Age in years, for rules with age limits.")
    encounter: Annotated[str | None, BeforeValidator(_number_as_text)] = Field(
        None,
        description="Text or a number. Services with the same encounter are checked together, "
        "so pairing rules (J0585 only with 64612) see each other.",
    )


class CheckRequest(RootModel[list[ServiceIn]]):
    """A JSON list of services, answered in the same order."""

    root: list[ServiceIn] = Field(min_length=1, max_length=MAX_SERVICES)


class Process(BaseModel):
    term: str = Field(description="The payer's own word: precertification, preauthorization...")
    reviews: str = Field(description="coverage, medical_necessity or both")
    rule: str = Field(description="Id of the rule asking for this process")
    condition: str | None = Field(None, description="For a conditional answer: the fact needed")


class ChannelOut(BaseModel):
    type: str = Field(description="x12, fhir-pas, portal, fax, phone or email, in order")
    address: str
    note: str | None = None


class Turnaround(BaseModel):
    standard: str | None = None
    expedited: str | None = None


class MatchedRule(BaseModel):
    id: str
    source: str


class RequirementOut(BaseModel):
    """The answer for one service (the same JSON as `precert check --json`)."""

    code: str
    payer: str
    date: str
    decision: str = Field(description="required, notification, conditional, not_required, unknown")
    processes: list[Process]
    documents: list[str]
    channels: list[ChannelOut]
    turnaround: Turnaround
    matched_rules: list[MatchedRule]
    reasons: list[str]


class CheckResponse(BaseModel):
    services: list[RequirementOut]


class IssueOut(BaseModel):
    code: str
    message: str
    location: str


class ErrorOut(BaseModel):
    """The one error shape of every endpoint."""

    error: str = Field(description="InvalidInput, NotFound, ...")
    message: str
    issues: list[IssueOut]
    retryable: bool


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorOut, "description": "Invalid input; each issue names where and why"},
}
