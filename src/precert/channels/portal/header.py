"""The SOP's YAML header between `---` lines: name, portal, inputs, credentials, outcomes.

Errors are (line, message) pairs with the line of the offending key in the file, so a person can
jump to it; an unknown key names the nearest known one.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml

from precert.channels.portal.workflow import INPUT_TYPES, OUTCOMES, Header, Input

KEYS = ("name", "portal", "description", "inputs", "credentials", "outcomes")
REQUIRED = ("name", "portal", "outcomes")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Problems = list[tuple[int, str]]


def split_header(lines: list[str]) -> tuple[int, int] | None:
    """(first, last) indexes of the header's content lines, or None if the file has no header."""
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return 1, index
    return None


def parse_header(lines: list[str], first: int, last: int) -> tuple[Header | None, Problems]:
    """The Header from lines[first:last] (file line = index + 1), or None with the problems."""
    text = "\n".join(lines[first:last])
    try:
        data = yaml.safe_load(text)
    except RecursionError:  # deeply nested [[[...]]] exhausts the parser, not the caller
        return None, [(first + 1, "the header is nested too deeply to read")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = first + 1 + (mark.line if mark is not None else 0)
        reason = getattr(exc, "problem", None) or "not valid YAML"
        return None, [(where, f"the header is not valid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [(first, "the header must be YAML keys (name:, portal:, outcomes:, ...)")]
    problems: Problems = []
    at = _key_lines(lines, first, last)
    for key in data:
        if key not in KEYS:
            hint = difflib.get_close_matches(str(key), KEYS, n=1)
            known = f"did you mean {hint[0]!r}?" if hint else f"known keys: {', '.join(KEYS)}"
            problems.append((at.get(str(key), first), f"unknown header key {key!r}; {known}"))
    for key in REQUIRED:
        if key not in data:
            problems.append((first, f"the header needs {key}:"))
    name = _text(data, "name", at, first, problems)
    portal = _text(data, "portal", at, first, problems)
    description = _text(data, "description", at, first, problems, required=False)
    inputs = _inputs(data.get("inputs"), at, first, problems)
    credentials = _credentials(data.get("credentials"), at.get("credentials", first), problems)
    outcomes = _outcomes(data.get("outcomes"), at.get("outcomes", first), problems)
    clash = {item.name for item in inputs} & set(credentials)
    for both in sorted(clash):
        problems.append(
            (at.get("credentials", first), f"{both!r} is both an input and a credential")
        )
    if problems:
        return None, problems
    return Header(name, portal, inputs, credentials, outcomes, description), []


def _key_lines(lines: list[str], first: int, last: int) -> dict[str, int]:
    """File line of each top-level key and each `  input_name:` line (best effort, for messages)."""
    found: dict[str, int] = {}
    for index in range(first, last):
        match = re.match(r"^(\s*)([A-Za-z_][\w-]*)\s*:", lines[index])
        if match:
            key = match.group(2) if not match.group(1) else f"inputs.{match.group(2)}"
            found.setdefault(key, index + 1)
    return found


def _text(
    data: dict[Any, Any],
    key: str,
    at: dict[str, int],
    first: int,
    problems: Problems,
    *,
    required: bool = True,
) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if (
        not isinstance(value, str | int | float)
        or isinstance(value, bool)
        or not str(value).strip()
    ):
        if required or value != "":
            problems.append((at.get(key, first), f"{key}: must be a line of text"))
        return ""
    return str(value).strip()


def _inputs(value: Any, at: dict[str, int], first: int, problems: Problems) -> tuple[Input, ...]:
    if value is None:
        return ()
    where = at.get("inputs", first)
    if not isinstance(value, dict):
        problems.append(
            (where, "inputs: must map each input name to its type, e.g. member_id: text")
        )
        return ()
    inputs: list[Input] = []
    for name, kind in value.items():
        line = at.get(f"inputs.{name}", where)
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            problems.append((line, f"input name {name!r} must be letters, digits and _"))
            continue
        words = str(kind).split() if isinstance(kind, str) else []
        optional = len(words) == 2 and words[0] == "optional"
        base = words[-1] if words else ""
        if base not in INPUT_TYPES or len(words) > 1 + optional:
            types = ", ".join(INPUT_TYPES)
            problems.append(
                (
                    line,
                    f"input {name!r} has type {kind!r}; use one of {types} "
                    "(optionally 'optional text')",
                )
            )
            continue
        inputs.append(Input(name, base, optional))
    return tuple(inputs)


def _names(value: Any) -> list[Any] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else None


def _credentials(value: Any, line: int, problems: Problems) -> tuple[str, ...]:
    names = _names(value)
    if names is None or not all(isinstance(n, str) and IDENTIFIER.fullmatch(n) for n in names):
        problems.append((line, "credentials: must be a list of names, e.g. [portal_login]"))
        return ()
    return tuple(dict.fromkeys(names))


def _outcomes(value: Any, line: int, problems: Problems) -> tuple[str, ...]:
    names = _names(value)
    if names is None:
        problems.append((line, f"outcomes: must be a list drawn from {', '.join(OUTCOMES)}"))
        return ()
    bad = [n for n in names if n not in OUTCOMES]
    for name in bad:
        problems.append((line, f"unknown outcome {name!r}; outcomes are {', '.join(OUTCOMES)}"))
    if value is not None and not names:
        problems.append((line, "outcomes: lists at least one outcome"))
    return tuple(dict.fromkeys(str(n) for n in names if n in OUTCOMES))
