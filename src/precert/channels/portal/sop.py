"""Compile a Markdown SOP into a Workflow: `check_sop` (errors as data), `compile_sop` (raises).

The file is a YAML header between `---` lines, then numbered steps (the main workflow) and, under
`## name` headings, named step groups. Blank lines, `#` headings and `>` notes are allowed; any
other line must be a step from the closed grammar (grammar.py). Nesting is by indentation under
block steps ending in ":". Semantic checks (variables, outcomes, the single submit) are checks.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from precert.channels.portal import checks
from precert.channels.portal.grammar import (
    FOR_EACH,
    IF_BLOCK,
    IF_INLINE,
    OTHERWISE_BLOCK,
    OTHERWISE_INLINE,
    WHENEVER,
    GrammarError,
    nearest,
    parse_ref,
    parse_simple,
)
from precert.channels.portal.header import parse_header, split_header
from precert.channels.portal.workflow import Handler, Header, Step, Workflow
from precert.errors import InvalidInput, Issue

__all__ = ["SopError", "SopInvalid", "check_sop", "compile_sop", "required_inputs"]

LIST_ITEM = re.compile(r"^(?P<indent> *)(?:\d{1,4}[.)]|[-*+])(?:\s+(?P<text>.*))?$")
HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:\s+(?P<text>.*?))?\s*#*\s*$")
# Editors turn "quotes" into curly ones; the grammar reads both.
QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})


@dataclass(frozen=True, slots=True)
class SopError:
    """One compile error: the 1-based line in the file and a message saying what to write."""

    line: int
    message: str

    def render(self, source: str) -> str:
        return f"{source}:{self.line}: {self.message}"


class SopInvalid(InvalidInput):
    """An SOP that does not compile; `errors` holds every located problem, in line order."""

    errors: list[SopError]

    def __init__(self, errors: list[SopError], *, source: str = "SOP") -> None:
        issues = [
            Issue("sop-invalid", e.render(source), location=f"{source}:{e.line}") for e in errors
        ]
        super().__init__(f"{source} has {len(errors)} error(s)", issues)
        self.errors = errors


@dataclass(slots=True)
class _Item:
    """One list item of the body: its indentation, text and file line."""

    indent: int
    text: str
    line: int


def compile_sop(text: str, *, source: str = "SOP") -> Workflow:
    """The Workflow for an SOP's text, or SopInvalid naming every error with its line."""
    workflow, errors = check_sop(text)
    if errors or workflow is None:
        raise SopInvalid(errors, source=source)
    return workflow


def check_sop(text: str) -> tuple[Workflow | None, list[SopError]]:
    """Compile without raising: (workflow, []) or (None, errors sorted by line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").translate(QUOTES).split("\n")
    errors: list[SopError] = []
    bounds = split_header(lines)
    header: Header | None = None
    if bounds is None:
        errors.append(SopError(1, "an SOP starts with a YAML header between '---' lines"))
        body_start = 0
    else:
        header, problems = parse_header(lines, *bounds)
        errors.extend(SopError(line, message) for line, message in problems)
        body_start = bounds[1] + 1
    title, sections = _sections(lines, body_start, errors)
    written = bool(sections[None])  # items that failed to parse still count as written steps
    handlers: list[Handler] = []
    trees = {name: _tree(items, handlers, errors) for name, items in sections.items()}
    steps = trees.pop(None, [])
    groups = {name: steps for name, steps in trees.items() if name is not None}
    if not written:
        errors.append(
            SopError(
                max(body_start, 1),
                "the SOP has no steps before its first '## group' heading; write '1. Go to ...'",
            )
        )
    if header is not None:
        workflow = Workflow(header, steps, handlers, groups, title)
        errors.extend(SopError(line, message) for line, message in checks.check(workflow))
    if errors:
        return None, sorted(set(errors), key=lambda e: (e.line, e.message))
    assert header is not None  # no errors means the header parsed
    return Workflow(header, steps, handlers, groups, title), []


def _sections(
    lines: list[str], start: int, errors: list[SopError]
) -> tuple[str, dict[str | None, list[_Item]]]:
    """Split the body into the main list (key None) and `## name` groups, skipping prose lines."""
    title = ""
    sections: dict[str | None, list[_Item]] = {None: []}
    current: str | None = None
    for index in range(start, len(lines)):
        raw = lines[index].expandtabs(4).rstrip()
        number = index + 1
        heading = HEADING.match(raw)
        if not raw.strip() or raw.lstrip().startswith(">") or raw.strip() == "---":
            continue
        if heading:
            name = (heading.group("text") or "").strip()
            if len(heading.group("level")) == 1:
                title = title or name
            elif not name:
                errors.append(SopError(number, "a '## ' heading needs the group's name"))
            elif name in sections:
                errors.append(SopError(number, f"the step group {name!r} is defined twice"))
            else:
                current = name
                sections[name] = []
            continue
        item = LIST_ITEM.match(raw)
        if item is None:
            errors.append(SopError(number, _not_a_list_item(raw.strip())))
            continue
        sections[current].append(
            _Item(len(item.group("indent")), (item.group("text") or "").strip(), number)
        )
    return title, sections


def _not_a_list_item(text: str) -> str:
    return (
        f"not a numbered step: write '1. {nearest(text)}' (notes start with '>', "
        "groups with '## name')"
    )


def _tree(items: list[_Item], handlers: list[Handler], errors: list[SopError]) -> list[Step]:
    """Nest a section's items by indentation; handlers are collected, not placed in the tree."""
    # The least indented item sets the top level, so a stray indented first item is reported.
    indent = min((item.indent for item in items), default=0)
    steps, position = _block(items, 0, indent, handlers, errors, top=True)
    assert position == len(items)  # every item is at or deeper than the top level
    return steps


def _block(
    items: list[_Item],
    position: int,
    indent: int,
    handlers: list[Handler],
    errors: list[SopError],
    *,
    top: bool,
) -> tuple[list[Step], int]:
    """Parse items at `indent` (deeper ones nest under blocks) until one is less indented."""
    steps: list[Step] = []
    while position < len(items) and items[position].indent >= indent:
        item = items[position]
        position += 1
        if item.indent > indent:
            errors.append(
                SopError(
                    item.line,
                    "this step is indented but the step above is not a "
                    "block ('If the page shows \"T\":', 'Otherwise:', "
                    "'For each {x} in {list}:')",
                )
            )
            while position < len(items) and items[position].indent > indent:
                position += 1  # one error for the whole stray sub-list
            continue
        step = _step(item, handlers, errors, top=top)
        if step is None:
            continue
        if step.block:
            if position < len(items) and items[position].indent > indent:
                deeper = items[position].indent
                step.body, position = _block(items, position, deeper, handlers, errors, top=False)
            else:
                errors.append(
                    SopError(
                        item.line, f"{_lead(item.text)!r} needs an indented list of steps under it"
                    )
                )
        if step.kind == "otherwise":
            _attach_otherwise(steps, step, errors)
        else:
            steps.append(step)
    return steps, position


def _attach_otherwise(steps: list[Step], step: Step, errors: list[SopError]) -> None:
    previous = steps[-1] if steps else None
    if previous is None or previous.kind != "if_shows" or previous.otherwise:
        errors.append(
            SopError(
                step.line,
                "'Otherwise' must directly follow an "
                "'If the page shows \"T\"' step at the same level",
            )
        )
        return
    previous.otherwise = step.body


def _lead(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _step(
    item: _Item, handlers: list[Handler], errors: list[SopError], *, top: bool
) -> Step | None:
    """One list item as a Step (structures included), or None after recording its error."""
    if not item.text:
        errors.append(SopError(item.line, "an empty step: write the step after its number"))
        return None
    try:
        return _structured(item.text, item.line, handlers, top=top)
    except GrammarError as exc:
        errors.append(SopError(item.line, str(exc)))
        return None


def _structured(text: str, line: int, handlers: list[Handler], *, top: bool) -> Step | None:
    if match := WHENEVER.match(text):
        if not top:
            raise GrammarError(
                "'Whenever ...' handlers apply to the whole run: write them at the "
                "top level, not inside a block"
            )
        handlers.append(Handler(match.group("text"), match.group("target"), line))
        return None
    if match := IF_BLOCK.match(text):
        return Step("if_shows", {"text": _nonempty(match.group("text"))}, line, text, block=True)
    if match := IF_INLINE.match(text):
        inner = _inline(match.group("rest"), line)
        return Step("if_shows", {"text": _nonempty(match.group("text"))}, line, text, body=[inner])
    if OTHERWISE_BLOCK.match(text):
        return Step("otherwise", {}, line, text, block=True)
    if match := OTHERWISE_INLINE.match(text):
        return Step("otherwise", {}, line, text, body=[_inline(match.group("rest"), line)])
    if match := FOR_EACH.match(text):
        args = {"item": parse_ref(match.group("item")), "items": parse_ref(match.group("items"))}
        if "." in args["item"].name:
            raise GrammarError("the loop variable in 'For each {x} in {list}' is a plain name")
        rest = match.group("rest").strip()
        if not rest:
            return Step("for_each", args, line, text, block=True)
        return Step("for_each", args, line, text, body=[_inline(rest, line)])
    return parse_simple(text, line)


def _inline(text: str, line: int) -> Step:
    """The <step> after 'then' / 'Otherwise' / 'For each ...:' (a plain step, not a structure)."""
    if text.rstrip().endswith(":") or re.match(r"(?i)^(if|otherwise|for each|whenever)\b", text):
        raise GrammarError(
            "after 'then', 'Otherwise' or 'For each ...:' write one plain step; "
            "nest blocks as indented lists instead"
        )
    return parse_simple(text.strip(), line)


def _nonempty(text: str) -> str:
    if not text.strip():
        raise GrammarError("a quoted text is empty: write the words between the quotes")
    return text


def required_inputs(workflow: Workflow) -> dict[str, str]:
    """Input name -> type for every non-optional input the steps use, in header order, so a
    runner can name missing values before a browser starts."""
    used = checks.used_names(workflow)
    return {i.name: i.type for i in workflow.header.inputs if i.name in used and not i.optional}


def missing_inputs(workflow: Workflow, values: Mapping[str, Any]) -> list[str]:
    """Messages for required inputs absent or empty in `values` (names only, never the values)."""
    missing = [name for name in required_inputs(workflow) if values.get(name) in (None, "", [])]
    return [f"the input {name!r} has no value; add it to the input file" for name in missing]
