"""FastAPI's request validation errors, reworded as precert Issues a person can act on.

Pydantic's locations ("body", 2, "code") become the JSON paths the service uses ("[2].code"), and
its terse messages ("Input should be a valid string") become sentences that say what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from precert.errors import Issue
from precert.services.requirements import FIELDS

ACCEPTED_KEYS = ", ".join((*FIELDS, "dx"))
EXAMPLE_BODY = '[{"payer": "medicare", "code": "64612", "pos": "22"}]'
# What a string field looks like, for "expected text" messages.
EXAMPLES = {
    "payer": "medicare",
    "plan": "commercial",
    "code": "64612",
    "pos": "22",
    "setting": "outpatient",
    "state": "TX",
    "date": "2026-12-01",
    "network": "out",
    "encounter": "visit-1",
}


def json_path(loc: Sequence[int | str]) -> str:
    """("body", 2, "code") -> "[2].code"; ("path", "payer_id") -> "payer_id"."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "path", "query", "header") else list(loc)
    if not parts:
        return "body"
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path.removeprefix(".")


def issues_for(errors: Sequence[Mapping[str, Any]]) -> list[Issue]:
    """Every error as an Issue, one per location (pydantic may report a value twice)."""
    issues: dict[str, Issue] = {}
    for error in errors:
        issue = issue_for(error)
        issues.setdefault(issue.location, issue)
    return list(issues.values())


def issue_for(error: Mapping[str, Any]) -> Issue:
    """One pydantic error as an Issue; the message starts with where, like the service's own."""
    kind = str(error.get("type", ""))
    loc: Sequence[int | str] = error.get("loc", ())
    if kind == "json_invalid":
        return _invalid_json(error)
    where = json_path(loc)
    value = error.get("input")
    detail = _sentence(kind, where, value, error)
    return Issue(_CODES.get(kind, "invalid"), f"{where}: {detail}", where)


def _invalid_json(error: Mapping[str, Any]) -> Issue:
    loc = error.get("loc", ())
    position = loc[1] if len(loc) > 1 else None
    reason = (error.get("ctx") or {}).get("error", "it could not be parsed")
    at = f" at character {position}" if isinstance(position, int) else ""
    message = (
        f"body: the request body is not valid JSON ({reason}{at}); "
        f"send a JSON list of services such as {EXAMPLE_BODY}"
    )
    return Issue("invalid-json", message, "body")


def _sentence(kind: str, where: str, value: Any, error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return f"unknown field; use {ACCEPTED_KEYS}"
    if kind == "list_type" and where == "body":
        return (
            f"expected a JSON list of services such as {EXAMPLE_BODY}, "
            f"sent with Content-Type: application/json; got {_json_kind(value)}"
        )
    if kind == "list_type":
        return f'expected a list such as ["M17.11", "G47.33"]; got {_json_kind(value)}'
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (
            'each service is a JSON object such as {"payer": "medicare", "code": "64612"}; '
            f"got {_json_kind(value)}"
        )
    if kind == "string_type":
        example = EXAMPLES.get(where.rsplit(".", 1)[-1].split("[")[0], "M17.11")
        return f'expected text in quotes such as "{example}"; got {_json_kind(value)}'
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number such as 3; got {_json_kind(value)}"
    if kind == "too_short" and where == "body":
        return "the list is empty; send at least one service"
    if kind == "too_long" and where == "body":
        most = ctx.get("max_length")
        return (
            f"{ctx.get('actual_length', 'too many')} services in one request; "
            f"send at most {most} and split larger batches"
        )
    return str(error.get("msg", "is not valid"))


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bytes):
        return "a body that is not JSON"
    return "nothing" if value is None else type(value).__name__


_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown-field",
    "too_short": "empty",
    "too_long": "too-many",
}
