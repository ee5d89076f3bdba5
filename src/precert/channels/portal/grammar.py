"""The closed step grammar: one English sentence -> one Step, or an error with the nearest phrasing.

Each Pattern pairs a regular expression (case-insensitive keywords, "quoted" labels, {var}
references) with the phrasing shown in errors and docs. Only the shape of one line is checked
here; whether variables exist, outcomes are allowed and blocks nest is compiler.py's job.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from precert.channels.portal.workflow import Ref, Step

Q = r'"(?P<{}>[^"]*)"'  # a quoted label or text
V = r"\{{(?P<{}>[^{{}}]*)\}}"  # a {variable}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def q(name: str) -> str:
    return Q.format(name)


def v(name: str) -> str:
    return V.format(name)


def qv(name: str) -> str:
    """A value that is either a {variable} or a "literal text"."""
    return f"(?:{v(name + '_var')}|{q(name + '_text')})"


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: str
    phrasing: str  # how the docs and error messages write it
    regex: re.Pattern[str]
    build: Callable[[dict[str, str | None]], dict[str, Any]]


class GrammarError(ValueError):
    """A line that is not a step, or a step whose parts are malformed; the message says the fix."""


def _p(kind: str, phrasing: str, regex: str, build: Callable[..., dict[str, Any]]) -> Pattern:
    return Pattern(kind, phrasing, re.compile(rf"^{regex}\.?$", re.IGNORECASE), build)


def parse_ref(text: str | None) -> Ref:
    name = (text or "").strip()
    if not NAME.fullmatch(name):
        raise GrammarError(
            f"{{{name}}} is not a variable name: use letters, digits and _ (a.b for a part)"
        )
    return Ref(name)


def _value(groups: dict[str, str | None], name: str) -> Ref | str:
    if groups.get(name + "_var") is not None:
        return parse_ref(groups[name + "_var"])
    return _label(groups.get(name + "_text"), allow_empty=True)


def _label(text: str | None, *, allow_empty: bool = False) -> str:
    if text is None or (not text.strip() and not allow_empty):
        raise GrammarError(
            'a quoted text is empty: write the words between the quotes, e.g. "Next"'
        )
    return text


def _url(text: str | None) -> dict[str, Any]:
    raw = (text or "").strip()
    if raw.startswith("{") and raw.endswith("}"):
        return {"url": parse_ref(raw[1:-1])}
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1]
    if not raw or " " in raw or '"' in raw:
        raise GrammarError(
            "Go to needs one address: a path such as /login, a full https:// URL or a {variable}"
        )
    return {"url": raw}


def _click(g: dict[str, str | None]) -> dict[str, Any]:
    row: Ref | str | None = None
    if g.get("row_var") is not None or g.get("row_text") is not None:
        row = _value(g, "row")
    return {
        "target": _label(g["target"]),
        "role": (g.get("role") or "").lower() or None,
        "section": _label(g["section"]) if g.get("section") is not None else None,
        "row": row,
    }


def _stop(g: dict[str, str | None]) -> dict[str, Any]:
    return {"outcome": (g["outcome"] or "").lower(), "reason": g.get("reason")}


def _wait(g: dict[str, str | None]) -> dict[str, Any]:
    raw = g.get("seconds")
    seconds = int(raw) if raw else None
    if seconds is not None and not 1 <= seconds <= 600:
        raise GrammarError("a wait is between 1 and 600 seconds")
    return {"text": _label(g["text"]), "timeout_seconds": seconds}


def _read_text(g: dict[str, str | None]) -> dict[str, Any]:
    pattern = g.get("regex")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise GrammarError(f"/{pattern}/ is not a valid regular expression ({exc})") from None
    return {"label": _label(g["label"]), "into": parse_ref(g["into"]), "pattern": pattern}


# Order matters only where one phrasing is a prefix of another (Uncheck before Check; the secret
# Fill before the plain one).
PATTERNS: tuple[Pattern, ...] = (
    _p("go_to", "Go to {url}", r"go to\s+(?P<url>.+?)", lambda g: _url(g["url"])),
    _p(
        "click",
        'Click [the button|link|tab] "X" [in the section "S" | in the row containing {v}]',
        rf"click(?:\s+the\s+(?P<role>button|link|tab))?\s+{q('target')}"
        rf"(?:\s+in\s+the\s+section\s+{q('section')}|\s+in\s+the\s+row\s+containing\s+{qv('row')})?",
        _click,
    ),
    _p(
        "fill",
        'Fill "Password" with secret {cred.password}',
        rf"fill\s+{q('label')}\s+with\s+secret\s+{v('value')}",
        lambda g: {"label": _label(g["label"]), "value": parse_ref(g["value"]), "secret": True},
    ),
    _p(
        "fill",
        'Fill "Label" with {var}',
        rf"fill\s+{q('label')}\s+with\s+{qv('value')}",
        lambda g: {"label": _label(g["label"]), "value": _value(g, "value"), "secret": False},
    ),
    _p(
        "choose",
        'Choose {v} in "Label"',
        rf"choose\s+{qv('value')}\s+in\s+{q('label')}",
        lambda g: {"value": _value(g, "value"), "label": _label(g["label"])},
    ),
    _p(
        "uncheck",
        'Uncheck "X"',
        rf"uncheck\s+{q('label')}",
        lambda g: {"label": _label(g["label"])},
    ),
    _p("check", 'Check "X"', rf"check\s+{q('label')}", lambda g: {"label": _label(g["label"])}),
    _p(
        "set_date",
        'Set the date "Label" to {d}',
        rf"set\s+the\s+date\s+{q('label')}\s+to\s+{qv('value')}",
        lambda g: {"label": _label(g["label"]), "value": _value(g, "value")},
    ),
    _p(
        "type_and_choose",
        'Type {code} into "Label" and choose the suggestion starting with {code}',
        rf"type\s+{qv('value')}\s+into\s+{q('label')}\s+and\s+choose\s+the\s+suggestion\s+"
        rf"starting\s+with\s+{qv('prefix')}",
        lambda g: {
            "value": _value(g, "value"),
            "label": _label(g["label"]),
            "prefix": _value(g, "prefix"),
        },
    ),
    _p(
        "upload",
        'Upload {docs} to "Label"',
        rf"upload\s+{v('value')}\s+to\s+{q('label')}",
        lambda g: {"value": parse_ref(g["value"]), "label": _label(g["label"])},
    ),
    _p("press_enter", "Press Enter", r"press\s+enter", lambda g: {}),
    _p(
        "wait_for_text",
        'Wait for the text "T" [up to N seconds]',
        rf"wait\s+for\s+the\s+text\s+{q('text')}(?:\s+up\s+to\s+(?P<seconds>\d{{1,6}})\s+seconds?)?",
        _wait,
    ),
    _p(
        "wait_until_gone",
        'Wait until "T" disappears',
        rf"wait\s+until\s+{q('text')}\s+disappears",
        lambda g: {"text": _label(g["text"])},
    ),
    _p(
        "expect_text",
        'Expect the page to show "T"',
        rf"expect\s+the\s+page\s+to\s+show\s+{q('text')}",
        lambda g: {"text": _label(g["text"])},
    ),
    _p(
        "read_text",
        'Read the text after "Label" as {out} [matching /re/]',
        rf"read\s+the\s+text\s+after\s+{q('label')}\s+as\s+{v('into')}(?:\s+matching\s+/(?P<regex>.*)/)?",
        _read_text,
    ),
    _p(
        "read_table",
        'Read the table "T" as {rows}',
        rf"read\s+the\s+table\s+{q('title')}\s+as\s+{v('into')}",
        lambda g: {"title": _label(g["title"]), "into": parse_ref(g["into"])},
    ),
    _p(
        "use_steps",
        'Use the steps "name"',
        rf"use\s+the\s+steps\s+{q('group')}",
        lambda g: {"group": _label(g["group"]).strip()},
    ),
    _p(
        "log_in",
        "Log in with {cred}",
        rf"log\s+in\s+with\s+{v('credential')}",
        lambda g: {"credential": parse_ref(g["credential"])},
    ),
    _p(
        "enter_totp",
        'Enter the authenticator code for {cred} into "Label"',
        rf"enter\s+the\s+authenticator\s+code\s+for\s+{v('credential')}\s+into\s+{q('label')}",
        lambda g: {"credential": parse_ref(g["credential"]), "label": _label(g["label"])},
    ),
    _p(
        "enter_email_code",
        'Enter the email code for {cred} from "sender" into "Label"',
        rf"enter\s+the\s+email\s+code\s+for\s+{v('credential')}\s+from\s+{q('sender')}\s+"
        rf"into\s+{q('label')}",
        lambda g: {
            "credential": parse_ref(g["credential"]),
            "sender": _label(g["sender"]),
            "label": _label(g["label"]),
        },
    ),
    _p(
        "hand_over",
        'Hand over to a person "reason"',
        rf"hand\s+over\s+to\s+a\s+person\s+{q('reason')}",
        lambda g: {"reason": _label(g["reason"])},
    ),
    _p(
        "ask",
        'Ask a person "Q" and fill "Label" with the answer',
        rf"ask\s+a\s+person\s+{q('question')}\s+and\s+fill\s+{q('label')}\s+with\s+the\s+answer",
        lambda g: {"question": _label(g["question"]), "label": _label(g["label"])},
    ),
    _p(
        "submit",
        'Submit by clicking "X"',
        rf"submit\s+by\s+clicking\s+{q('target')}",
        lambda g: {"target": _label(g["target"])},
    ),
    _p(
        "stop",
        'Stop with outcome approved|pended|denied|not_required|duplicate ["reason"]',
        rf"stop\s+with\s+outcome\s+(?P<outcome>[A-Za-z_]+)(?:\s+{q('reason')})?",
        _stop,
    ),
)

# Lines that open or continue a structure; compiler.py handles their nesting.
IF_INLINE = re.compile(rf"^if\s+the\s+page\s+shows\s+{q('text')},?\s+then\s+(?P<rest>.+)$", re.I)
IF_BLOCK = re.compile(rf"^if\s+the\s+page\s+shows\s+{q('text')}\s*:$", re.I)
OTHERWISE_BLOCK = re.compile(r"^otherwise\s*:$", re.I)
OTHERWISE_INLINE = re.compile(r"^otherwise,?\s+(?P<rest>.+)$", re.I)
FOR_EACH = re.compile(rf"^for\s+each\s+{v('item')}\s+in\s+{v('items')}\s*:\s*(?P<rest>.*)$", re.I)
WHENEVER = re.compile(
    rf"^whenever\s+the\s+page\s+shows\s+{q('text')},?\s+click\s+{q('target')}\.?$", re.I
)

STRUCTURE_PHRASINGS = (
    'If the page shows "T" then <step>',
    'If the page shows "T":',
    "Otherwise <step>",
    "Otherwise:",
    "For each {x} in {list}: <step>",
    "For each {x} in {list}:",
    'Whenever the page shows "T", click "X"',
)
PHRASINGS: tuple[str, ...] = tuple(p.phrasing for p in PATTERNS) + STRUCTURE_PHRASINGS


def parse_simple(text: str, line: int) -> Step:
    """One plain step (not If/Otherwise/For each/Whenever); GrammarError if no phrasing fits."""
    for pattern in PATTERNS:
        match = pattern.regex.match(text)
        if match:
            return Step(pattern.kind, pattern.build(match.groupdict()), line, text)
    raise GrammarError(f"not a known step: {_shorten(text)!r}; did you mean: {nearest(text)}")


# Words people write for a step whose keyword is another one.
SYNONYMS = {
    "select": "choose", "pick": "choose", "tick": "check", "untick": "uncheck",
    "open": "go", "visit": "go", "navigate": "go", "tap": "click", "press": "press",
    "type": "type", "enter": "enter", "login": "log", "sign": "log", "attach": "upload",
    "verify": "expect", "assert": "expect", "save": "read", "get": "read", "when": "whenever",
    "prompt": "ask", "question": "ask",
}  # fmt: skip


def nearest(text: str) -> str:
    """The documented phrasing closest to a line (quoted parts and {vars} are compared as slots)."""
    shape = _shape(text)
    scored = [
        (difflib.SequenceMatcher(None, shape, _shape(phrasing)).ratio(), phrasing)
        for phrasing in PHRASINGS
    ]
    first_word = shape.split(" ", 1)[0]
    first_word = SYNONYMS.get(first_word, first_word)
    # A line that starts with a step's keyword means that step, however garbled the rest is.
    keyed = [s for s in scored if _shape(s[1]).split(" ", 1)[0] == first_word]
    return max(keyed or scored)[1]


def _shape(text: str) -> str:
    text = re.sub(r'"[^"]*"', '"x"', text.lower())
    text = re.sub(r"\{[^{}]*\}", "{x}", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    return " ".join(text.split())


def _shorten(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
