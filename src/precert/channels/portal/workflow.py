"""The compiled form of an SOP: a Workflow (header, step tree, handlers, groups), JSON-able.

A runner walks `Workflow.steps` in order. Each Step has a `kind` (see STEP_KINDS), its `args`,
the source `line`, and for blocks the nested `body` (If: the "then" steps; For each: the loop body)
and `otherwise` (If only). Variable references are `Ref` objects; quoted texts are templates whose
`{name}` parts the runner fills with `interpolate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Input types a header may declare.
INPUT_TYPES = ("text", "date", "code", "list", "documents")
# Outcomes a `Stop with outcome` may name (the header narrows them per workflow). The first five
# come from the issue; not_found and more_info serve status checks (item 6).
OUTCOMES = ("approved", "pended", "denied", "not_required", "duplicate", "not_found", "more_info")
# The parts of a credential a step may name, e.g. {portal_login.password}.
CREDENTIAL_FIELDS = ("username", "password")

TEMPLATE_REF = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Ref:
    """A variable reference `{name}` or `{name.field}`: input, credential, loop item, read value."""

    name: str

    @property
    def root(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def field(self) -> str | None:
        parts = self.name.split(".", 1)
        return parts[1] if len(parts) == 2 else None

    def as_dict(self) -> dict[str, str]:
        return {"var": self.name}


@dataclass(frozen=True, slots=True)
class Input:
    """One declared input: its type and whether a run may leave it out."""

    name: str
    type: str
    optional: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "optional": self.optional}


@dataclass(frozen=True, slots=True)
class Header:
    """The YAML header: what the workflow is, for which portal, and what it needs and may answer."""

    name: str
    portal: str
    inputs: tuple[Input, ...]
    credentials: tuple[str, ...]
    outcomes: tuple[str, ...]
    description: str = ""

    def input(self, name: str) -> Input | None:
        return next((item for item in self.inputs if item.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "portal": self.portal,
            "description": self.description,
            "inputs": {item.name: item.as_dict() for item in self.inputs},
            "credentials": list(self.credentials),
            "outcomes": list(self.outcomes),
        }


@dataclass(slots=True)
class Step:
    """One step: its kind, arguments (str, int, bool, None or Ref), source line and nested steps."""

    kind: str
    args: dict[str, Any]
    line: int
    text: str
    body: list[Step] = field(default_factory=list)
    otherwise: list[Step] = field(default_factory=list)
    # True for `If …:` / `For each …:` / `Otherwise:` written as blocks (an indented list follows).
    block: bool = False

    def refs(self) -> list[Ref]:
        """Every variable this step reads (in arguments and quoted templates), not the ones it
        defines (`as {out}`, the loop variable)."""
        found: list[Ref] = []
        for key, value in self.args.items():
            if key in _DEFINING_ARGS:
                continue
            if isinstance(value, Ref):
                found.append(value)
            elif isinstance(value, str) and key not in _RAW_ARGS:
                found.extend(Ref(m.group(1).strip()) for m in TEMPLATE_REF.finditer(value))
        return found

    def as_dict(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "kind": self.kind,
            "line": self.line,
            "text": self.text,
            "args": {key: _plain(value) for key, value in self.args.items()},
        }
        if self.kind in ("if_shows", "for_each"):
            view["body"] = [step.as_dict() for step in self.body]
        if self.kind == "if_shows":
            view["otherwise"] = [step.as_dict() for step in self.otherwise]
        return view


# Arguments that are not templates: braces in a regular expression are repetition counts.
_RAW_ARGS = ("pattern", "group", "outcome", "role")
_DEFINING_ARGS = ("into", "item")


@dataclass(frozen=True, slots=True)
class Handler:
    """`Whenever the page shows "T", click "X"`: checked by the runner between steps."""

    text: str
    click: str
    line: int

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "click": self.click, "line": self.line}


@dataclass(slots=True)
class Workflow:
    """A compiled SOP. `groups` holds the `## name` step groups that `use_steps` steps name."""

    header: Header
    steps: list[Step]
    handlers: list[Handler]
    groups: dict[str, list[Step]]
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "header": self.header.as_dict(),
            "title": self.title,
            "steps": [step.as_dict() for step in self.steps],
            "handlers": [handler.as_dict() for handler in self.handlers],
            "groups": {name: [s.as_dict() for s in steps] for name, steps in self.groups.items()},
        }


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Ref) else value


def interpolate(template: str, values: Mapping[str, Any]) -> str:
    """Fill the `{name}` / `{name.field}` parts of a quoted text from run values (a KeyError names
    a value the run does not have; compile-time checks make that a runner bug, not an SOP error)."""

    def one(match: re.Match[str]) -> str:
        return str(resolve(Ref(match.group(1).strip()), values))

    return TEMPLATE_REF.sub(one, template)


def resolve(ref: Ref, values: Mapping[str, Any]) -> Any:
    """The value of `{a.b}`: values["a"]["b"] for mappings, else getattr (e.g. credentials)."""
    value: Any = values[ref.root]
    if ref.field is not None:
        for part in ref.field.split("."):
            value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return value
