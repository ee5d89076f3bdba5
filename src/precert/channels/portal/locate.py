"""Find a portal element the way a person reads the page: by what it says, never by CSS paths.

`locate(scope, label, kind=...)` tries the strategies in a fixed order and the first that finds
anything decides: role + accessible name, label, placeholder/title, the label normalised (a
trailing ":" or "*" removed, case and spacing ignored), the text next to the field (same row to
the right, else just below, by bounding boxes; for a checkbox, words to its right come first),
and for clicks the button text. More than one visible match is `AmbiguousElement` (we never pick
the first); none is `ElementNotFound`. Both carry a screenshot path from the `shoot` callback the
runner passes (it masks PHI first).

What belongs here: finding elements and scopes ("in the section", "in the row containing"),
reading the text after a label and a table. Acting on elements is steps.py; the step order is
runner.py.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from playwright.sync_api import Locator, Page

from precert.errors import Issue, PortalChanged

Kind = Literal["click", "field", "select", "checkbox", "file"]
Shoot = Callable[[str], str | None]  # reason -> screenshot path (or None when none was taken)

STRATEGIES = (
    "role",
    "label",
    "placeholder",
    "normalised_label",
    "neighbour_text",
    "button_text",
)
# Roles that answer to each kind of step; a click without a named role accepts any of these.
ROLES: dict[Kind, tuple[str, ...]] = {
    "click": ("button", "link", "tab", "menuitem"),
    "field": ("textbox", "combobox", "spinbox", "searchbox"),
    "select": ("combobox", "listbox"),
    "checkbox": ("checkbox", "switch", "radio"),
    "file": (),
}
# The elements the JavaScript strategies may return for each kind.
CONTROLS: dict[Kind, str] = {
    "click": "button, a, [role=button], [role=link], [role=tab], input[type=submit], "
    "input[type=button]",
    "field": "input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
    ":not([type=file]):not([type=submit]):not([type=button]), textarea, [contenteditable=true]",
    "select": "select, [role=combobox], [role=listbox]",
    "checkbox": "input[type=checkbox], input[type=radio], [role=checkbox], [role=switch]",
    "file": "input[type=file]",
}
NEIGHBOUR_MARGIN_PX = 60  # how far below a text a field may start and still belong to it
_tokens = itertools.count(1)


class AmbiguousElement(PortalChanged):
    """More than one element answers to a label: the SOP must say which (a section or a row)."""

    screenshot: str | None = None


class ElementNotFound(PortalChanged):
    """No element answers to a label: the portal changed, or the SOP names the wrong text."""

    screenshot: str | None = None


@dataclass(frozen=True, slots=True)
class Located:
    """The one element found and the strategy that found it (kept on the run record)."""

    locator: Locator
    strategy: str


def normalise(text: str) -> str:
    """Lower case, single spaces, without a trailing ':' / '*' (required-field marks)."""
    text = " ".join(text.split()).lower()
    return re.sub(r"[\s:*]+$", "", text)


def locate(
    page: Page,
    label: str,
    *,
    kind: Kind,
    role: str | None = None,
    scope: Locator | None = None,
    timeout_seconds: float = 5.0,
    shoot: Shoot = lambda reason: None,
) -> Located:
    """The one visible element for `label`; waits up to `timeout_seconds` for it to appear."""
    root = scope if scope is not None else page.locator("body")
    deadline = time.monotonic() + timeout_seconds
    while True:
        for strategy in _strategies(kind):
            candidates = _visible(_candidates(page, root, strategy, label, kind, role))
            if len(candidates) == 1:
                return Located(candidates[0], strategy)
            if len(candidates) > 1:
                path = shoot(f"ambiguous {label}")
                raise _error(
                    AmbiguousElement,
                    f'{len(candidates)} elements answer to "{label}" (found by {strategy}); '
                    "name the section or the row in the SOP so only one does",
                    "ambiguous_element",
                    path,
                )
        if time.monotonic() >= deadline:
            path = shoot(f"not found {label}")
            raise _error(
                ElementNotFound,
                f'nothing on the page answers to "{label}"; the portal may have changed or the '
                "SOP names another text (see the screenshot)",
                "element_not_found",
                path,
            )
        page.wait_for_timeout(100)  # poll: the element may still be rendering


def _strategies(kind: Kind) -> tuple[str, ...]:
    # A click target is named by its own words; a field's words sit in a label or beside it.
    if kind == "click":
        return ("role", "label", "placeholder", "button_text")
    return STRATEGIES[:-1]


def _error(klass: type[Any], message: str, code: str, path: str | None) -> Any:
    where = f" Screenshot: {path}" if path else ""
    error = klass(message + "." + where, [Issue(code, message, path or "")])
    error.screenshot = path
    return error


def _candidates(
    page: Page, root: Locator, strategy: str, label: str, kind: Kind, role: str | None
) -> Locator | None:
    if strategy == "role":
        roles = (role,) if role else ROLES[kind]
        found: Locator | None = None
        for name in roles:
            one = root.get_by_role(name, name=label, exact=True)  # type: ignore[arg-type]
            found = one if found is None else found.or_(one)
        return found
    if strategy == "label":
        return root.get_by_label(label, exact=True)
    if strategy == "placeholder":
        return root.get_by_placeholder(label, exact=True).or_(root.get_by_title(label, exact=True))
    if strategy == "button_text":
        return root.get_by_text(label, exact=True)
    return _tagged(root, strategy, label, kind)


def _visible(locator: Locator | None) -> list[Locator]:
    if locator is None:
        return []
    return [locator.nth(i) for i in range(locator.count()) if locator.nth(i).is_visible()]


def _tagged(root: Locator, strategy: str, label: str, kind: Kind) -> Locator:
    """Run a JavaScript finder that marks its hits with a fresh token; the locator selects them."""
    token = f"h{next(_tokens)}"
    script = _NORMALISED_LABEL_JS if strategy == "normalised_label" else _NEIGHBOUR_JS
    root.evaluate(
        script,
        {
            "wanted": normalise(label),
            "controls": CONTROLS[kind],
            "token": token,
            "margin": NEIGHBOUR_MARGIN_PX,
            "leftFirst": kind == "checkbox",
        },
    )
    return root.locator(f'[data-precert-hit="{token}"]')


# Shared by the finders: how the page's texts are normalised (kept equal to `normalise`).
_JS_NORMALISE = r"""
const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
document.querySelectorAll('[data-precert-hit]')
  .forEach((e) => e.removeAttribute('data-precert-hit'));
"""

_NORMALISED_LABEL_JS = (
    "(root, a) => {"
    + _JS_NORMALISE
    + r"""
  for (const lab of root.querySelectorAll('label')) {
    const control = lab.control;
    if (norm(lab.textContent) === a.wanted && control && control.matches(a.controls)) {
      control.setAttribute('data-precert-hit', a.token);
    }
  }
  for (const el of root.querySelectorAll('[aria-label]')) {
    if (norm(el.getAttribute('aria-label')) === a.wanted && el.matches(a.controls)) {
      el.setAttribute('data-precert-hit', a.token);
    }
  }
}"""
)

# The text next to a field: an element whose own text is the label; the nearest control on the
# same row to its right wins, else the nearest one starting just below it. For a checkbox the
# nearest one on the same row to its LEFT comes first.
_NEIGHBOUR_JS = (
    "(root, a) => {"
    + _JS_NORMALISE
    + r"""
  const ownText = (el) => Array.from(el.childNodes)
    .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ');
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const controls = Array.from(root.querySelectorAll(a.controls)).filter(shown);
  for (const el of root.querySelectorAll('*')) {
    if (el.matches(a.controls) || norm(ownText(el)) !== a.wanted || !shown(el)) continue;
    // The words' own box, not the element's: a block label spans the whole row.
    const range = document.createRange();
    range.selectNodeContents(el);
    const t = range.getBoundingClientRect();
    let best = null, bestDistance = Infinity;
    // A checkbox's words usually follow it ("[x] I certify ..."): its left neighbour first.
    if (a.leftFirst) {
      for (const c of controls) {
        const r = c.getBoundingClientRect();
        const middle = (r.top + r.bottom) / 2;
        if (middle >= t.top && middle <= t.bottom && r.right <= t.left + 2) {
          const d = t.left - r.right;
          if (d < bestDistance) { best = c; bestDistance = d; }
        }
      }
    }
    for (const c of best === null ? controls : []) {
      const r = c.getBoundingClientRect();
      const middle = (r.top + r.bottom) / 2;
      if (middle >= t.top && middle <= t.bottom && r.left >= t.right - 2) {
        const d = r.left - t.right;
        if (d < bestDistance) { best = c; bestDistance = d; }
      }
    }
    if (best === null) {
      for (const c of controls) {
        const r = c.getBoundingClientRect();
        const gap = r.top - t.bottom;
        const overlaps = r.left < t.right + a.margin && r.right > t.left - a.margin;
        const distance = gap + Math.abs(r.left - t.left);
        if (gap >= -2 && gap <= a.margin && overlaps && distance < bestDistance) {
          best = c; bestDistance = distance;
        }
      }
    }
    if (best !== null) best.setAttribute('data-precert-hit', a.token);
  }
}"""
)


# -- scopes ----------------------------------------------------------------------------------------


def section(page: Page, title: str, *, shoot: Shoot) -> Locator:
    """The innermost section, fieldset, region or form headed by `title` (heading or legend)."""
    token = f"s{next(_tokens)}"
    page.locator("body").evaluate(_SECTION_JS, {"wanted": normalise(title), "token": token})
    found = _visible(page.locator(f'[data-precert-scope="{token}"]'))
    return _one(found, f'the section "{title}"', shoot)


def row(page: Page, text: str, *, scope: Locator | None, shoot: Shoot) -> Locator:
    """The table or grid row containing `text` (the text is not named in errors: it may be PHI)."""
    root = scope if scope is not None else page.locator("body")
    rows = root.locator("tr, [role=row]").filter(has_text=text)
    # A row inside another matching row (nested tables) is the one meant.
    innermost = rows.filter(has_not=page.locator("tr, [role=row]").filter(has_text=text))
    return _one(_visible(innermost), "the row containing the given value", shoot)


def _one(found: list[Locator], what: str, shoot: Shoot) -> Locator:
    if len(found) == 1:
        return found[0]
    if not found:
        raise _error(
            ElementNotFound,
            f"the page has no {what.removeprefix('the ')}; the portal may have changed",
            "element_not_found",
            shoot(f"not found {what}"),
        )
    raise _error(
        AmbiguousElement,
        f"{len(found)} places match {what}; make the SOP more specific",
        "ambiguous_element",
        shoot(f"ambiguous {what}"),
    )


_SECTION_JS = r"""(root, a) => {
  const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
  const heads = root.querySelectorAll('h1, h2, h3, h4, h5, h6, legend, caption, [role=heading]');
  for (const h of heads) {
    if (norm(h.textContent) !== a.wanted) continue;
    const box = h.closest('section, fieldset, [role=region], article, form, table')
      || h.parentElement;
    if (box) box.setAttribute('data-precert-scope', a.token);
  }
  for (const el of root.querySelectorAll('[aria-label]')) {
    if (norm(el.getAttribute('aria-label')) === a.wanted && el.matches('section, [role=region]')) {
      el.setAttribute('data-precert-scope', a.token);
    }
  }
}"""


# -- reading ---------------------------------------------------------------------------------------


def text_after(page: Page, label: str) -> list[str]:
    """The texts that follow each visible `label` on the page: the rest of its own element
    ("Reference number: A-1"), else its next sibling (dt/dd, th/td), else its wrapper's next one."""
    result = page.locator("body").evaluate(_TEXT_AFTER_JS, {"wanted": normalise(label)})
    return [str(item) for item in result]


_TEXT_AFTER_JS = r"""(root, a) => {
  const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
  const clean = (t) => (t || '').replace(/\s+/g, ' ').trim();
  const shown = (el) => {
    const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0;
  };
  const valueOf = (el) => (el.matches('input, select, textarea') ? el.value : el.innerText);
  const found = [];
  for (const el of root.querySelectorAll('*')) {
    if (!shown(el) || ['SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join(' ');
    const text = clean(own);
    const lower = text.toLowerCase();
    if (lower.startsWith(a.wanted) && norm(text) !== a.wanted) {
      const rest = clean(text.slice(a.wanted.length).replace(/^[\s:*]+/, ''));
      if (rest && el.children.length === 0) { found.push(rest); continue; }
    }
    if (norm(text) !== a.wanted) continue;
    let next = el.nextElementSibling;
    while (next && !shown(next)) next = next.nextElementSibling;
    if (next) { found.push(clean(valueOf(next))); continue; }
    // The label is alone in its cell or wrapper: take the wrapper's next sibling.
    const wrapper = el.parentElement && el.parentElement.nextElementSibling;
    if (wrapper && shown(wrapper)) found.push(clean(valueOf(wrapper)));
  }
  return found;
}"""


def table_rows(page: Page, title: str) -> list[list[dict[str, str]]]:
    """Each visible table titled `title` (caption, aria-label, or the heading just before it) as
    rows of {header text: cell text}."""
    result = page.locator("body").evaluate(_TABLE_JS, {"wanted": normalise(title)})
    return [[{str(k): str(v) for k, v in row.items()} for row in table] for table in result]


_TABLE_JS = r"""(root, a) => {
  const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
  const clean = (t) => (t || '').replace(/\s+/g, ' ').trim();
  const titled = (table) => {
    if (table.caption && norm(table.caption.textContent) === a.wanted) return true;
    if (norm(table.getAttribute('aria-label')) === a.wanted) return true;
    let prev = table.previousElementSibling;
    while (prev && !/^H[1-6]$/.test(prev.tagName) && prev.tagName !== 'TABLE') {
      prev = prev.previousElementSibling;
    }
    return !!prev && prev.tagName !== 'TABLE' && norm(prev.textContent) === a.wanted;
  };
  const tables = [];
  for (const table of root.querySelectorAll('table')) {
    if (!titled(table) || table.getClientRects().length === 0) continue;
    const rows = Array.from(table.rows);
    const headerRow = table.tHead ? table.tHead.rows[0] : rows[0];
    if (!headerRow) { tables.push([]); continue; }
    const headers = Array.from(headerRow.cells).map((c) => clean(c.innerText));
    const out = [];
    for (const r of rows) {
      if (r === headerRow || r.parentElement === table.tHead) continue;
      const item = {};
      Array.from(r.cells).forEach((c, i) => {
        item[headers[i] || `column ${i + 1}`] = clean(c.innerText);
      });
      out.push(item);
    }
    tables.push(out);
  }
  return tables;
}"""
