"""The portal SOP language: what compiles into which steps, and every error a person reads.

Compiling is pure, so these tests feed text to channels.portal.sop and the `precert portal check`
command (through Typer's runner, on files in a temporary folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from precert.channels.portal.grammar import PATTERNS
from precert.channels.portal.sop import (
    SopInvalid,
    check_sop,
    compile_sop,
    missing_inputs,
    required_inputs,
)
from precert.channels.portal.workflow import Ref, Step, interpolate
from precert.cli.portal import app

SOPS = Path(__file__).resolve().parents[2] / "src" / "precert" / "data" / "portal_sops"

HEADER = """---
name: Test workflow
portal: test-portal
inputs:
  member_id: text
  service_date: date
  diagnosis: code
  services: list
  documents: documents
  note: optional text
credentials: [login]
outcomes: [approved, pended, duplicate]
---
"""
HEADER_LINES = HEADER.count("\n")  # the first step is on line HEADER_LINES + 1


def sop(*steps: str, extra: str = "") -> str:
    return HEADER + "\n".join(steps) + "\n" + extra


def errors_of(text: str) -> list[tuple[int, str]]:
    workflow, errors = check_sop(text)
    assert (workflow is None) == bool(errors)
    return [(e.line, e.message) for e in errors]


def only_step(line: str) -> Step:
    workflow = compile_sop(sop(f"1. {line}"))
    assert len(workflow.steps) == 1
    return workflow.steps[0]


# ---- every step of the grammar --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind", "args"),
    [
        ("Go to /login", "go_to", {"url": "/login"}),
        ("go to https://portal.example/start", "go_to", {"url": "https://portal.example/start"}),
        ("Go to {member_id}", "go_to", {"url": Ref("member_id")}),
        (
            'Click "Next"',
            "click",
            {"target": "Next", "role": None, "section": None, "row": None},
        ),
        (
            'Click the tab "Services" in the section "Request"',
            "click",
            {"target": "Services", "role": "tab", "section": "Request", "row": None},
        ),
        (
            'CLICK THE LINK "View" in the row containing {member_id}',
            "click",
            {"target": "View", "role": "link", "section": None, "row": Ref("member_id")},
        ),
        (
            'Fill "Member ID" with {member_id}',
            "fill",
            {"label": "Member ID", "value": Ref("member_id"), "secret": False},
        ),
        (
            'Fill "Password" with secret {login.password}',
            "fill",
            {"label": "Password", "value": Ref("login.password"), "secret": True},
        ),
        (
            'Choose "Imaging" in "Service type"',
            "choose",
            {"value": "Imaging", "label": "Service type"},
        ),
        ('Check "I agree"', "check", {"label": "I agree"}),
        ('Uncheck "Email me"', "uncheck", {"label": "Email me"}),
        (
            'Set the date "Date of service" to {service_date}',
            "set_date",
            {"label": "Date of service", "value": Ref("service_date")},
        ),
        (
            'Type {diagnosis} into "Diagnosis" and choose the suggestion starting with {diagnosis}',
            "type_and_choose",
            {"value": Ref("diagnosis"), "label": "Diagnosis", "prefix": Ref("diagnosis")},
        ),
        (
            'Upload {documents} to "Attachments"',
            "upload",
            {"value": Ref("documents"), "label": "Attachments"},
        ),
        ("Press Enter", "press_enter", {}),
        (
            'Wait for the text "Done" up to 20 seconds',
            "wait_for_text",
            {"text": "Done", "timeout_seconds": 20},
        ),
        ('Wait for the text "Done"', "wait_for_text", {"text": "Done", "timeout_seconds": None}),
        ('Wait until "Loading" disappears', "wait_until_gone", {"text": "Loading"}),
        ('Expect the page to show "Review"', "expect_text", {"text": "Review"}),
        (
            r'Read the text after "Reference" as {ref} matching /[A-Z]{2}\d+/',
            "read_text",
            {"label": "Reference", "into": Ref("ref"), "pattern": r"[A-Z]{2}\d+"},
        ),
        (
            'Read the table "Results" as {rows}',
            "read_table",
            {"title": "Results", "into": Ref("rows")},
        ),
        ("Log in with {login}", "log_in", {"credential": Ref("login")}),
        (
            'Enter the authenticator code for {login} into "Code"',
            "enter_totp",
            {"credential": Ref("login"), "label": "Code"},
        ),
        (
            'Enter the email code for {login} from "no-reply@payer.example" into "Code"',
            "enter_email_code",
            {"credential": Ref("login"), "sender": "no-reply@payer.example", "label": "Code"},
        ),
        ('Hand over to a person "CAPTCHA"', "hand_over", {"reason": "CAPTCHA"}),
        (
            'Ask a person "Type the characters shown" and fill "Characters" with the answer',
            "ask",
            {"question": "Type the characters shown", "label": "Characters"},
        ),
        ('Submit by clicking "Submit"', "submit", {"target": "Submit"}),
        ("Stop with outcome pended", "stop", {"outcome": "pended", "reason": None}),
        (
            'Stop with outcome approved "all good".',
            "stop",
            {"outcome": "approved", "reason": "all good"},
        ),
    ],
)
def test_each_phrasing_compiles_to_its_step_kind_and_arguments(
    line: str, kind: str, args: dict[str, object]
) -> None:
    step = only_step(line)
    assert (step.kind, step.args, step.line) == (kind, args, HEADER_LINES + 1)


def test_every_documented_phrasing_is_covered_by_a_pattern_kind() -> None:
    kinds = {pattern.kind for pattern in PATTERNS}
    assert kinds == {
        "go_to", "click", "fill", "choose", "check", "uncheck", "set_date", "type_and_choose",
        "upload", "press_enter", "wait_for_text", "wait_until_gone", "expect_text", "read_text",
        "read_table", "use_steps", "log_in", "enter_totp", "enter_email_code", "hand_over",
        "ask", "submit", "stop",
    }  # fmt: skip


def test_curly_quotes_from_an_editor_read_like_straight_ones() -> None:
    assert only_step("Click \u201cNext\u201d").args["target"] == "Next"


def test_inline_if_and_otherwise_become_one_if_step_with_both_branches() -> None:
    workflow = compile_sop(
        sop(
            '1. If the page shows "Exists" then Stop with outcome duplicate',
            '2. Otherwise Click "Continue"',
        )
    )
    [step] = workflow.steps
    assert step.kind == "if_shows" and step.args == {"text": "Exists"}
    assert [s.kind for s in step.body] == ["stop"]
    assert [s.kind for s in step.otherwise] == ["click"]


def test_block_if_otherwise_and_for_each_nest_by_indentation() -> None:
    workflow = compile_sop(
        sop(
            '1. If the page shows "Body part":',
            '   1. Fill "Body part" with {member_id}',
            '   2. Click "Next"',
            "2. Otherwise:",
            '   - Click "Skip"',
            "3. For each {service} in {services}:",
            '   1. Fill "Code" with {service.code}',
            '   2. If the page shows "Units":',
            '      1. Fill "Units" with {service.units}',
            '4. Submit by clicking "Send"',
        )
    )
    first, loop, submit = workflow.steps
    assert [s.kind for s in first.body] == ["fill", "click"]
    assert [s.kind for s in first.otherwise] == ["click"]
    assert loop.kind == "for_each" and loop.args == {
        "item": Ref("service"),
        "items": Ref("services"),
    }
    assert [s.kind for s in loop.body] == ["fill", "if_shows"]
    assert loop.body[1].body[0].args["value"] == Ref("service.units")
    assert submit.line == HEADER_LINES + 10


def test_handlers_and_groups_are_kept_apart_from_the_main_steps() -> None:
    workflow = compile_sop(
        sop(
            '- Whenever the page shows "Session expiring", click "Stay signed in"',
            '1. Use the steps "Sign in"',
            extra='\n## Sign in\n\n1. Log in with {login}\n2. Click "Go"\n',
        )
    )
    assert [h.as_dict() for h in workflow.handlers] == [
        {"text": "Session expiring", "click": "Stay signed in", "line": HEADER_LINES + 1}
    ]
    assert [s.kind for s in workflow.steps] == ["use_steps"]
    assert [s.kind for s in workflow.groups["Sign in"]] == ["log_in", "click"]


def test_notes_headings_and_blank_lines_are_not_steps() -> None:
    workflow = compile_sop(sop("# Title", "", "> a note for people", '1. Click "A"'))
    assert workflow.title == "Title" and len(workflow.steps) == 1


def test_the_compiled_workflow_is_json_with_variables_marked() -> None:
    workflow = compile_sop(sop('1. Fill "Member ID" with {member_id}'))
    view = json.loads(json.dumps(workflow.as_dict()))
    assert view["steps"][0]["args"]["value"] == {"var": "member_id"}
    assert view["header"]["inputs"]["note"] == {"type": "text", "optional": True}
    assert view["header"]["outcomes"] == ["approved", "pended", "duplicate"]


def test_required_inputs_are_the_used_non_optional_ones_and_missing_ones_are_named() -> None:
    workflow = compile_sop(
        sop(
            '1. Fill "Member ID" with {member_id}',
            '2. Fill "Note" with {note}',
            '3. Set the date "Date" to {service_date}',
        )
    )
    assert required_inputs(workflow) == {"member_id": "text", "service_date": "date"}
    assert missing_inputs(workflow, {"member_id": "X", "service_date": ""}) == [
        "the input 'service_date' has no value; add it to the input file"
    ]


def test_quoted_texts_are_templates_filled_from_run_values() -> None:
    assert interpolate("Request {ref} for {m.id}", {"ref": "R1", "m": {"id": "7"}}) == (
        "Request R1 for 7"
    )


# ---- errors a person reads --------------------------------------------------------------------


def test_an_unknown_line_names_its_line_and_the_nearest_phrasing() -> None:
    assert errors_of(sop('1. Click "A"', '2. Clik on "Next"')) == [
        (
            HEADER_LINES + 2,
            "not a known step: 'Clik on \"Next\"'; did you mean: "
            'Click [the button|link|tab] "X" [in the section "S" | in the row containing {v}]',
        )
    ]


def test_a_garbled_step_suggests_the_step_its_keyword_names() -> None:
    [(_, message)] = errors_of(sop("1. Wait for Loading to go away"))
    assert message.endswith('did you mean: Wait for the text "T" [up to N seconds]')
    [(_, message)] = errors_of(sop('1. Read "Reference" into {ref}'))
    assert message.endswith('did you mean: Read the table "T" as {rows}')
    [(_, message)] = errors_of(sop('1. Select {member_id} from "Plan"'))
    assert message.endswith('did you mean: Choose {v} in "Label"')


ASK = 'Ask a person "Q" and fill "Label" with the answer'


@pytest.mark.parametrize(
    "line",
    [
        'Ask a person "Type the code"',  # where the answer goes is missing
        'Ask someone "Type the code" and fill "Code" with the answer',
        'Ask a person "Type the code" and fill "Code" with {member_id}',  # not "the answer"
        'Ask a person "Type the code" and type the answer into "Code"',
        'Prompt a person "Type the code" into "Code"',
    ],
)
def test_a_misphrased_ask_step_suggests_the_ask_phrasing(line: str) -> None:
    [(number, message)] = errors_of(sop(f"1. {line}"))
    assert number == HEADER_LINES + 1
    assert message.endswith(f"did you mean: {ASK}")


def test_an_ask_step_is_valid_inside_an_if_block_and_inline() -> None:
    workflow = compile_sop(
        sop(
            '1. If the page shows "Verify you are human":',
            '    1. Ask a person "Type the characters" and fill "Characters" with the answer',
            '    2. Click the button "Continue"',
            '2. If the page shows "PIN" then Ask a person "Type the PIN" and fill "PIN" with the '
            "answer",
        )
    )
    block, inline = workflow.steps
    assert [s.kind for s in block.body] == ["ask", "click"]
    assert block.body[0].args == {"question": "Type the characters", "label": "Characters"}
    assert [s.kind for s in inline.body] == ["ask"]


def test_an_ask_step_with_an_empty_text_or_a_credential_in_its_question_is_an_error() -> None:
    [(_, empty)] = errors_of(sop('1. Ask a person "" and fill "Code" with the answer'))
    assert empty.startswith("a quoted text is empty")
    [(line, named)] = errors_of(
        sop('1. Ask a person "Code for {login.username}" and fill "Code" with the answer')
    )
    assert line == HEADER_LINES + 1
    assert named.startswith("the question names the credential {login}")


def test_prose_that_is_not_a_list_item_is_an_error_with_a_suggestion() -> None:
    [(line, message)] = errors_of(sop('1. Click "A"', "Then press enter"))
    assert line == HEADER_LINES + 2
    assert message == (
        "not a numbered step: write '1. Press Enter' (notes start with '>', groups with '## name')"
    )


def test_an_unknown_variable_is_named_with_its_line() -> None:
    assert errors_of(sop('1. Fill "Member ID" with {memberid}')) == [
        (
            HEADER_LINES + 1,
            "unknown variable {memberid}: declare it under inputs: or credentials:, "
            "or read it in an earlier step",
        )
    ]


def test_a_value_read_later_is_not_known_earlier_but_is_known_after() -> None:
    text = sop(
        '1. Fill "A" with {ref}',
        '2. Read the text after "Reference" as {ref}',
        '3. Fill "B" with {ref}',
    )
    assert [line for line, _ in errors_of(text)] == [HEADER_LINES + 1]


def test_a_value_read_in_only_one_branch_is_unknown_after_the_if() -> None:
    text = sop(
        '1. If the page shows "X":',
        '   1. Read the text after "R" as {ref}',
        '2. Fill "B" with {ref}',
    )
    assert [line for line, _ in errors_of(text)] == [HEADER_LINES + 3]


def test_a_value_read_in_the_branch_that_does_not_stop_is_known_after() -> None:
    text = sop(
        '1. If the page shows "Exists" then Stop with outcome duplicate',
        "2. Otherwise:",
        '   1. Read the text after "R" as {ref}',
        '3. Fill "B" with {ref}',
    )
    assert errors_of(text) == []


def test_the_loop_variable_is_known_only_inside_the_loop() -> None:
    text = sop(
        '1. For each {service} in {services}: Fill "Code" with {service.code}',
        '2. Fill "Code" with {service}',
    )
    assert [line for line, _ in errors_of(text)] == [HEADER_LINES + 2]


def test_submitting_twice_is_an_error_at_the_second_submit() -> None:
    assert errors_of(sop('1. Submit by clicking "Send"', '2. Submit by clicking "Send"')) == [
        (
            HEADER_LINES + 2,
            f"a workflow submits at most once; it already submits at line {HEADER_LINES + 1}",
        )
    ]


def test_submitting_inside_a_loop_is_an_error() -> None:
    [(line, message)] = errors_of(
        sop("1. For each {s} in {services}:", '   1. Submit by clicking "Send"')
    )
    assert line == HEADER_LINES + 2
    assert message == (
        "'Submit by clicking' cannot be inside 'For each': a workflow submits at most once"
    )


def test_a_group_that_submits_used_twice_submits_twice() -> None:
    text = sop(
        '1. Use the steps "Send"',
        '2. Use the steps "Send"',
        extra='## Send\n1. Submit by clicking "Send"\n',
    )
    assert errors_of(text) == [
        (
            HEADER_LINES + 4,
            "a workflow submits at most once; it already submits again (its group is used twice)",
        )
    ]


def test_a_stop_outcome_must_be_allowed_by_the_header() -> None:
    assert errors_of(sop("1. Stop with outcome denied")) == [
        (
            HEADER_LINES + 1,
            "the outcome 'denied' is not in the header's outcomes (approved, pended, duplicate); "
            "add it there",
        )
    ]
    [(_, message)] = errors_of(sop("1. Stop with outcome maybe"))
    assert message.startswith("unknown outcome 'maybe'; outcomes are approved, pended, denied")


def test_steps_after_a_stop_never_run() -> None:
    [(line, message)] = errors_of(sop("1. Stop with outcome pended", '2. Click "A"'))
    assert (line, message) == (
        HEADER_LINES + 2,
        "this step never runs: the step before it stops the workflow",
    )


def test_an_unknown_step_group_is_named_with_the_nearest_one() -> None:
    text = sop('1. Use the steps "Sign-in"', extra='## Sign in\n1. Click "A"\n')
    assert errors_of(text) == [
        (HEADER_LINES + 1, "no step group named 'Sign-in'; did you mean 'Sign in'?")
    ]


def test_a_group_that_uses_itself_is_an_error() -> None:
    text = sop('1. Use the steps "Loop"', extra='## Loop\n1. Use the steps "Loop"\n')
    assert ("the step group 'Loop' uses itself") in [m for _, m in errors_of(text)]


def test_passwords_are_only_filled_as_secrets() -> None:
    [(_, message)] = errors_of(sop('1. Fill "Password" with {login.password}'))
    assert message == (
        "{login.password} is a password: "
        "only 'Fill \"Label\" with secret {login.password}' may use it"
    )
    [(_, message)] = errors_of(sop('1. Hand over to a person "pw is {login.password}"'))
    assert "is a password" in message


def test_a_credential_step_needs_a_declared_credential() -> None:
    [(_, message)] = errors_of(sop("1. Log in with {member_id}"))
    assert message == "{member_id} is not a credential; list it under credentials: in the header"
    [(_, message)] = errors_of(sop('1. Fill "User" with {login}'))
    assert message == "{login} names a credential; use {login.username} or {login.password}"


def test_input_types_must_fit_the_step() -> None:
    [(_, message)] = errors_of(sop('1. Set the date "Date" to {services}'))
    assert message == "{services} is a list input; this step needs date or text"
    [(_, message)] = errors_of(sop('1. Upload {member_id} to "Files"'))
    assert message == "{member_id} is a text input; this step needs documents"


def test_otherwise_without_an_if_is_an_error() -> None:
    [(_, message)] = errors_of(sop('1. Click "A"', '2. Otherwise Click "B"'))
    assert (
        message
        == "'Otherwise' must directly follow an 'If the page shows \"T\"' step at the same level"
    )


def test_a_block_needs_indented_steps_and_stray_indentation_is_reported_once() -> None:
    [(line, message)] = errors_of(sop('1. If the page shows "X":', '2. Click "A"'))
    assert (line, message) == (
        HEADER_LINES + 1,
        "'If the page shows \"X\":' needs an indented list of steps under it",
    )
    errors = errors_of(sop('1. Click "A"', '   1. Click "B"', '   2. Click "C"'))
    assert [line for line, _ in errors] == [HEADER_LINES + 2]


def test_a_bad_regular_expression_is_reported() -> None:
    [(_, message)] = errors_of(sop('1. Read the text after "R" as {ref} matching /[a-/'))
    assert message.startswith("/[a-/ is not a valid regular expression")


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("name: X\nportal: p\n", 1, "the header needs outcomes:"),
        (
            "name: X\nportal: p\noutcomes: [approved]\nportl: q\n",
            5,
            "unknown header key 'portl'; did you mean 'portal'?",
        ),
        (
            "name: X\nportal: p\noutcomes: [approved]\ninputs:\n  dob: birthday\n",
            6,
            "input 'dob' has type 'birthday'; use one of text, date, code, list, documents "
            "(optionally 'optional text')",
        ),
        (
            "name: X\nportal: p\noutcomes: [won]\n",
            4,
            "unknown outcome 'won'; outcomes are "
            "approved, pended, denied, not_required, duplicate, not_found, more_info",
        ),
        (
            "name: [X\n",
            2,
            "the header is not valid YAML: expected ',' or ']', but got '<stream end>'",
        ),
    ],
)
def test_header_problems_name_their_line(header: str, line: int, message: str) -> None:
    text = f'---\n{header}---\n1. Click "A"\n'
    assert (line, message) in errors_of(text)


def test_a_file_without_a_header_is_an_error_on_line_1() -> None:
    assert (1, "an SOP starts with a YAML header between '---' lines") in errors_of('1. Click "A"')


def test_compile_sop_raises_invalid_input_carrying_located_lines() -> None:
    with pytest.raises(SopInvalid) as caught:
        compile_sop(sop("1. Jump"), source="x.md")
    assert caught.value.issues[0].message.startswith(f"x.md:{HEADER_LINES + 1}: not a known step")


# ---- the shipped SOPs and the command ----------------------------------------------------------


@pytest.mark.parametrize("name", ["modern-wizard-submit.md", "modern-wizard-status.md"])
def test_the_shipped_modern_wizard_sops_compile(name: str) -> None:
    workflow = compile_sop((SOPS / name).read_text(encoding="utf-8"), source=name)
    assert workflow.header.portal == "modern-wizard"
    assert "request_key" in required_inputs(workflow)


def test_the_submit_sop_submits_exactly_once_after_signing_in() -> None:
    workflow = compile_sop((SOPS / "modern-wizard-submit.md").read_text(encoding="utf-8"))
    kinds = [step.kind for step in workflow.steps]
    assert kinds[0] == "use_steps" and kinds.count("submit") == 1
    assert "enter_totp" in [s.kind for s in workflow.groups["Sign in"]]


def test_portal_check_prints_one_summary_line(tmp_path: Path) -> None:
    path = tmp_path / "ok.md"
    path.write_text(sop('1. Fill "Member ID" with {member_id}'), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{path}: ok: 'Test workflow' for portal 'test-portal', 1 step, 0 groups, 0 handlers; "
        "inputs: member_id\n"
    )


def test_portal_check_json_prints_the_compiled_workflow(tmp_path: Path) -> None:
    path = tmp_path / "ok.md"
    path.write_text(sop('1. Click "A"'), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["steps"][0]["kind"] == "click"


def test_portal_check_prints_each_error_as_file_line_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text(sop("1. Press Enter", "2. Pres Enter", "3. Stop with outcome denied"))
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"{path}:{HEADER_LINES + 2}: not a known step: 'Pres Enter'; did you mean: Press Enter"
    )
    assert lines[1].startswith(f"{path}:{HEADER_LINES + 3}: the outcome 'denied' is not in")
    assert len(lines) == 2


def test_portal_check_of_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(tmp_path / "missing.md")])
    assert result.exit_code == 2
    assert "cannot read the SOP file (No such file or directory)" in result.stderr


# ---- fuzz: any text compiles or gives located errors ------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = st.sampled_from(
    [
        "---", "name: x", "portal: p", "outcomes: [approved]", "inputs:", "  a: text",
        "credentials: [c]", "## g", "# t", "> note", "", "1. ", "   1. ", "- ", '"', "{a}", "{c}",
        "{c.password}", "{", "}", ":", "Click", "Fill", "If the page shows", "then", "Otherwise",
        "For each {x} in {a}:", 'Use the steps "g"', "Submit by clicking", "Stop with outcome",
        "approved", "secret", "with", "matching /", "/", "\t", "\r\n", "\u201c", "[", "]",
    ]
)  # fmt: skip


@FUZZ
@given(st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=40), st.text(max_size=50))
def test_any_text_gives_a_workflow_or_located_errors(pieces: list[str], tail: str) -> None:
    text = " ".join(pieces).replace(" \n", "\n") + tail
    line_count = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    workflow, errors = check_sop(text)
    if workflow is None:
        assert errors
        assert all(1 <= e.line <= line_count and e.message for e in errors)
    else:
        assert errors == []
        json.dumps(workflow.as_dict())
        required_inputs(workflow)


@FUZZ
@given(st.lists(PIECES, max_size=25).map(lambda p: "\n".join(p)))
def test_line_shaped_text_gives_a_workflow_or_located_errors(text: str) -> None:
    workflow, errors = check_sop(HEADER + text)
    assert (workflow is None) == bool(errors)
    assert all(e.line >= 1 for e in errors)


# ---- the documentation's examples ---------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "portal-sops.md"
DOCS_HEADER = """---
name: Docs examples
portal: docs
inputs:
  start_url: text
  request_key: text
  member_id: text
  service_type: text
  service_date: date
  diagnosis_code: code
  documents: documents
  services: list
credentials: [portal_login]
outcomes: [approved, pended, denied, not_required, duplicate, not_found, more_info]
---
"""


def doc_examples() -> list[str]:
    """The example column of the docs' step table, one example per ` · `-separated part."""
    rows = [r for r in DOCS.read_text(encoding="utf-8").splitlines() if r.startswith("| `")]
    examples: list[str] = []
    for row in rows:
        cells = [c.strip() for c in row.replace("\\|", "\0").split("|")]
        if len(cells) >= 4 and cells[2].startswith("`"):
            examples += [part.strip().strip("`") for part in cells[2].split(" · ")]
    return examples


def test_the_docs_list_an_example_for_every_step() -> None:
    assert len(doc_examples()) >= 30


@pytest.mark.parametrize("example", doc_examples())
def test_every_example_in_the_docs_compiles(example: str) -> None:
    before = (
        '1. If the page shows "X" then Press Enter\n' if example.startswith("Otherwise") else ""
    )
    text = DOCS_HEADER + before + f"2. {example}\n\n## Sign in\n1. Press Enter\n"
    assert errors_of(text) == []
