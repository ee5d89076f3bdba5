"""Semantic checks on a parsed Workflow: variables defined before use, credentials used as
credentials, input types that fit the step, allowed outcomes, known step groups, questions for a
person that spell no credential, and the single irreversible submit (at most once per run, never
inside a loop).

Groups are checked where they are used (`Use the steps "g"` expands them), so a value a group
reads is known after the use, and a group that submits counts once per use.
"""

from __future__ import annotations

import difflib

from precert.channels.portal.workflow import CREDENTIAL_FIELDS, OUTCOMES, Ref, Step, Workflow

Problems = list[tuple[int, str]]
# Steps that need a bare credential name, e.g. `Log in with {portal_login}`.
CREDENTIAL_STEPS = ("log_in", "enter_totp", "enter_email_code")
# Input types each typed argument accepts (read values and loop items are untyped).
TYPE_FITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("set_date", "value"): ("date", "text"),
    ("type_and_choose", "value"): ("code", "text"),
    ("type_and_choose", "prefix"): ("code", "text"),
    ("upload", "value"): ("documents",),
    ("for_each", "items"): ("list", "documents"),
}


def check(workflow: Workflow) -> Problems:
    """Every semantic problem as (line, message)."""
    checker = _Checker(workflow)
    base = checker.base_scope()
    checker.walk(workflow.steps, base, in_loop=False, chain=())
    for name, steps in workflow.groups.items():
        if name not in checker.expanded:
            checker.walk(steps, base, in_loop=False, chain=(name,))
    for handler in workflow.handlers:
        for text in (handler.text, handler.click):
            probe = Step("handler", {"text": text}, handler.line, text)
            checker.check_refs(probe, base)
    return checker.problems


def used_names(workflow: Workflow) -> set[str]:
    """The root of every variable the steps, groups and handlers name."""
    names: set[str] = set()

    def visit(steps: list[Step]) -> None:
        for step in steps:
            names.update(ref.root for ref in step.refs())
            visit(step.body)
            visit(step.otherwise)

    visit(workflow.steps)
    for steps in workflow.groups.values():
        visit(steps)
    for handler in workflow.handlers:
        for text in (handler.text, handler.click):
            names.update(ref.root for ref in Step("handler", {"t": text}, 0, text).refs())
    return names


class _Checker:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.header = workflow.header
        self.problems: Problems = []
        self.expanded: set[str] = set()
        self.submit_at: int | None = None  # line of the first submit the run would reach

    def base_scope(self) -> set[str]:
        return {i.name for i in self.header.inputs} | set(self.header.credentials)

    def walk(
        self, steps: list[Step], scope: set[str], *, in_loop: bool, chain: tuple[str, ...]
    ) -> tuple[set[str], bool]:
        """Check steps in order; returns the names known afterwards and whether the run stops."""
        scope = set(scope)
        for index, step in enumerate(steps):
            scope, stopped = self.step(step, scope, in_loop=in_loop, chain=chain)
            if stopped:
                if index + 1 < len(steps):
                    later = steps[index + 1].line
                    self.problems.append(
                        (later, "this step never runs: the step before it stops the workflow")
                    )
                return scope, True
        return scope, False

    def step(
        self, step: Step, scope: set[str], *, in_loop: bool, chain: tuple[str, ...]
    ) -> tuple[set[str], bool]:
        self.check_refs(step, scope)
        kind = step.kind
        if kind == "if_shows":
            then, then_stops = self.walk(step.body, scope, in_loop=in_loop, chain=chain)
            other, other_stops = self.walk(step.otherwise, scope, in_loop=in_loop, chain=chain)
            if then_stops and other_stops:
                return scope, True
            known = other if then_stops else then if other_stops else then & other
            return scope | known, False
        if kind == "for_each":
            self.loop(step, scope, chain)
            return scope, False
        if kind in ("read_text", "read_table"):
            return scope | {self.define(step, step.args["into"])}, False
        if kind == "use_steps":
            return self.use(step, scope, in_loop=in_loop, chain=chain)
        if kind == "ask":
            self.ask(step)
        if kind == "submit":
            self.submit(step, in_loop=in_loop)
        if kind == "stop":
            self.outcome(step)
            return scope, True
        return scope, False

    def check_refs(self, step: Step, scope: set[str]) -> None:
        for ref in step.refs():
            self.ref(step, ref, scope)
        for (kind, key), fits in TYPE_FITS.items():
            value = step.args.get(key)
            if step.kind == kind and isinstance(value, Ref):
                declared = self.header.input(value.root)
                if declared is not None and value.field is None and declared.type not in fits:
                    self.problems.append(
                        (
                            step.line,
                            f"{{{value.name}}} is a {declared.type} input;"
                            f" this step needs {' or '.join(fits)}",
                        )
                    )

    def ref(self, step: Step, ref: Ref, scope: set[str]) -> None:
        line = step.line
        if ref.root not in scope:
            self.problems.append(
                (
                    line,
                    f"unknown variable {{{ref.name}}}: declare it under "
                    "inputs: or credentials:, or read it in an earlier step",
                )
            )
            return
        if ref.root not in self.header.credentials:
            if step.kind in CREDENTIAL_STEPS and step.args.get("credential") == ref:
                self.problems.append(
                    (
                        line,
                        f"{{{ref.name}}} is not a credential; list it under "
                        "credentials: in the header",
                    )
                )
            return
        self.credential_ref(step, ref)

    def credential_ref(self, step: Step, ref: Ref) -> None:
        line, name = step.line, ref.name
        bare = step.kind in CREDENTIAL_STEPS and step.args.get("credential") == ref
        if bare:
            if ref.field is not None:
                self.problems.append((line, f"write the credential's name alone: {{{ref.root}}}"))
            return
        if ref.field not in CREDENTIAL_FIELDS:
            parts = " or ".join(f"{{{ref.root}.{f}}}" for f in CREDENTIAL_FIELDS)
            self.problems.append((line, f"{{{name}}} names a credential; use {parts}"))
        elif ref.field == "password" and not (step.kind == "fill" and step.args.get("secret")):
            self.problems.append(
                (
                    line,
                    f'{{{name}}} is a password: only \'Fill "Label" with '
                    f"secret {{{name}}}' may use it",
                )
            )
        elif step.kind == "fill" and step.args.get("secret") and ref.field != "password":
            self.problems.append((line, f"'with secret' is for passwords: {{{ref.root}.password}}"))

    def define(self, step: Step, into: Ref) -> str:
        if into.field is not None:
            self.problems.append((step.line, f"read into a plain name, not {{{into.name}}}"))
        elif into.root in self.base_scope():
            self.problems.append(
                (
                    step.line,
                    f"{{{into.root}}} is already an input or credential; read into another name",
                )
            )
        return into.root

    def loop(self, step: Step, scope: set[str], chain: tuple[str, ...]) -> None:
        item: Ref = step.args["item"]
        if item.root in scope:
            self.problems.append(
                (
                    step.line,
                    f"the loop variable {{{item.root}}} hides another "
                    "value of that name; choose a new name",
                )
            )
        self.walk(step.body, scope | {item.root}, in_loop=True, chain=chain)

    def use(
        self, step: Step, scope: set[str], *, in_loop: bool, chain: tuple[str, ...]
    ) -> tuple[set[str], bool]:
        name: str = step.args["group"]
        steps = self.workflow.groups.get(name)
        if steps is None:
            known = list(self.workflow.groups)
            hint = difflib.get_close_matches(name, known, n=1)
            tail = (
                f"did you mean {hint[0]!r}?"
                if hint
                else (
                    f"groups in this file: {', '.join(known)}"
                    if known
                    else f"define it under '## {name}'"
                )
            )
            self.problems.append((step.line, f"no step group named {name!r}; {tail}"))
            return scope, False
        if name in chain:
            self.problems.append((step.line, f"the step group {name!r} uses itself"))
            return scope, False
        self.expanded.add(name)
        return self.walk(steps, scope, in_loop=in_loop, chain=(*chain, name))

    def ask(self, step: Step) -> None:
        """A question is shown to a person on the run page: no credential may be spelled in it."""
        named = sorted({ref.root for ref in step.refs()} & set(self.header.credentials))
        for name in named:
            self.problems.append(
                (
                    step.line,
                    f"the question names the credential {{{name}}}: a question is shown to a "
                    "person on the run page; write it without the credential",
                )
            )

    def submit(self, step: Step, *, in_loop: bool) -> None:
        if in_loop:
            self.problems.append(
                (
                    step.line,
                    "'Submit by clicking' cannot be inside 'For each': "
                    "a workflow submits at most once",
                )
            )
        if self.submit_at is not None:
            first = self.submit_at
            where = "again (its group is used twice)" if first == step.line else f"at line {first}"
            self.problems.append(
                (step.line, f"a workflow submits at most once; it already submits {where}")
            )
        else:
            self.submit_at = step.line

    def outcome(self, step: Step) -> None:
        outcome: str = step.args["outcome"]
        allowed = self.header.outcomes
        if outcome not in OUTCOMES:
            self.problems.append(
                (step.line, f"unknown outcome {outcome!r}; outcomes are {', '.join(OUTCOMES)}")
            )
        elif outcome not in allowed:
            self.problems.append(
                (
                    step.line,
                    f"the outcome {outcome!r} is not in the header's "
                    f"outcomes ({', '.join(allowed)}); add it there",
                )
            )
