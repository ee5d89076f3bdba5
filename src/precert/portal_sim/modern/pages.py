"""The modern wizard's HTML: every field is a real <label for=...> plus its control, every
action a real <button>, so a browser finds them by role and accessible name. Page texts the
shipped SOPs wait for ("Prescreen", "Details", "Services", "Review", "Confirmation", "Results",
...) appear only on their own page, and each link or button name at most once per page, so a
text or role lookup never matches two things.

`Look` is what differs between the portal and its variant: element ids, form field names, CSS
classes and the order of the fields on each page; the visible labels never differ.
The two small scripts (autocomplete and the session-timeout warning) are at the bottom.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

Kind = Literal["text", "password", "date", "select", "combobox", "number", "file", "checkbox"]


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # our name for the value; the id/name in the HTML come from the Look
    label: str
    kind: Kind = "text"
    options: tuple[str, ...] = ()  # select choices (value = visible text)
    suggest: str | None = None  # combobox: the /suggest/<kind> list it asks


@dataclass(frozen=True, slots=True)
class Look:
    """Ids, names, classes and field order; `variant=True` is the reshuffled twin portal."""

    variant: bool = False
    cookie: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cookie", "sid_v2" if self.variant else "portal_session")

    def id(self, key: str) -> str:
        if not self.variant:
            return key.replace("_", "-")
        return "c" + hashlib.sha1(key.encode()).hexdigest()[:7]  # ids only, not security

    def name(self, key: str) -> str:
        return key if not self.variant else "f_" + self.id(key)

    def cls(self, role: str) -> str:
        return f"mw-{role}" if not self.variant else f"x{len(role)}{role[::-1][:4]} ui-{role[:3]}"

    def order(self, fields: Sequence[Field]) -> list[Field]:
        return list(fields) if not self.variant else list(reversed(fields))


def field_html(f: Field, look: Look, value: str = "", error: str | None = None) -> str:
    """One labelled control (label first, then the control), with its error under it."""
    fid, name = look.id(f.key), look.name(f.key)
    v = escape(value, quote=True)
    if f.kind == "select":
        options = ['<option value="">Choose…</option>'] + [
            f'<option value="{escape(o)}"{" selected" if o == value else ""}>{escape(o)}</option>'
            for o in f.options
        ]
        control = f'<select id="{fid}" name="{name}">{"".join(options)}</select>'
    elif f.kind == "combobox":
        listbox = f"{fid}-list"
        control = (
            f'<input id="{fid}" name="{name}" type="text" value="{v}" role="combobox"'
            f' autocomplete="off" aria-autocomplete="list" aria-expanded="false"'
            f' aria-controls="{listbox}" data-suggest="{f.suggest}">'
            f'<ul id="{listbox}" role="listbox" class="{look.cls("suggestions")}"'
            f' aria-label="Suggestions" hidden></ul>'
        )
    elif f.kind == "file":
        control = f'<input id="{fid}" name="{name}" type="file" multiple>'
    elif f.kind == "checkbox":
        control = f'<input id="{fid}" name="{name}" type="checkbox" value="yes">'
        label = f'<label for="{fid}">{escape(f.label)}</label>'
        return f'<div class="{look.cls("check")}">{control} {label}{_error(error, look)}</div>'
    else:
        extra = ' inputmode="numeric"' if f.kind == "number" else ""
        kind = "text" if f.kind == "number" else f.kind
        control = f'<input id="{fid}" name="{name}" type="{kind}" value="{v}"{extra}>'
    label = f'<label for="{fid}">{escape(f.label)}</label>'
    return f'<div class="{look.cls("field")}">{label}{control}{_error(error, look)}</div>'


def _error(error: str | None, look: Look) -> str:
    return f'<p class="{look.cls("error")}">{escape(error)}</p>' if error else ""


def form_html(
    action: str,
    fields: Sequence[Field],
    look: Look,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    button: str,
    *,
    multipart: bool = False,
    before: str = "",
) -> str:
    """A form with the fields in the Look's order and one submit button."""
    enctype = ' enctype="multipart/form-data"' if multipart else ""
    body = "".join(
        field_html(f, look, values.get(f.key, ""), errors.get(f.key)) for f in look.order(fields)
    )
    summary = ""
    if errors:
        summary = (
            f'<div role="alert" class="{look.cls("alert")}">Please correct the fields marked'
            " below.</div>"
        )
    return (
        f'{summary}<form method="post" action="{action}" class="{look.cls("form")}"{enctype}>'
        f'{before}{body}<button type="submit" class="{look.cls("primary")}">{escape(button)}'
        "</button></form>"
    )


def facts_html(rows: Iterable[tuple[str, str]], look: Look) -> str:
    """Label/value pairs as a <dl>: the value is the text right after its label."""
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f'<dl class="{look.cls("facts")}">{items}</dl>'


def table_html(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], look: Look
) -> str:
    """A table named by the heading above it (aria-labelledby); cells are HTML already."""
    tid = look.id("results-heading")
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<h2 id="{tid}">{escape(title)}</h2><table aria-labelledby="{tid}"'
        f' class="{look.cls("table")}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def layout(
    heading: str,
    body: str,
    look: Look,
    *,
    signed_in: bool = False,
    warn_after: float | None = None,
) -> str:
    """The page frame: title, a small header (Home and Sign out once signed in), one <h1>."""
    nav = ""
    if signed_in:
        nav = (
            f'<nav class="{look.cls("nav")}"><a href="/dashboard">Home</a>'
            f'<form method="post" action="/logout" class="{look.cls("inline")}">'
            '<button type="submit">Sign out</button></form></nav>'
        )
    warning = ""
    if signed_in and warn_after is not None:
        warning = (
            f'<div id="{look.id("session_warning")}" role="alertdialog" aria-modal="true"'
            f' aria-labelledby="{look.id("session_warning_text")}" class="{look.cls("dialog")}"'
            f' data-warn-after="{warn_after}" hidden>'
            f'<p id="{look.id("session_warning_text")}">Your session is about to expire</p>'
            '<button type="button" data-keep-alive>Stay signed in</button></div>'
            f"<script>{SESSION_SCRIPT}</script>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(heading)} · Payer provider portal</title><style>{STYLE}</style></head>"
        f'<body class="{look.cls("page")}"><header class="{look.cls("header")}">'
        f'<span class="{look.cls("brand")}">Payer provider portal</span>{nav}</header>'
        f'<main class="{look.cls("main")}"><h1>{escape(heading)}</h1>{body}</main>{warning}'
        f"<script>{AUTOCOMPLETE_SCRIPT}</script></body></html>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}
header{display:flex;justify-content:space-between;padding:.6rem 1rem;background:#0b3d6e;color:#fff}
header a,header button{color:#fff;margin-left:1rem;background:none;border:0;font:inherit}
main{max-width:46rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:6px}
label{display:block;font-weight:600;margin-top:1rem}
input,select{padding:.35rem;min-width:18rem}
[role=listbox]{list-style:none;margin:0;padding:0;border:1px solid #999;max-width:24rem}
[role=option]{padding:.25rem .5rem;cursor:pointer}
[role=option]:hover{background:#e3ecf7}
[role=alert]{background:#fff4d6;border-left:4px solid #d99a00;padding:.6rem;margin:1rem 0}
[role=alertdialog]{position:fixed;inset:30% 30% auto;background:#fff;padding:1.5rem;
border:2px solid #0b3d6e}
button{margin-top:1.2rem;padding:.45rem 1.1rem}
dt{font-weight:600;margin-top:.5rem}dd{margin-left:0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}
"""

# Autocomplete: typing asks /suggest/<kind>?q=... and lists options; choosing one puts its code
# (the text before the first space) into the field.
AUTOCOMPLETE_SCRIPT = """
document.querySelectorAll('input[data-suggest]').forEach(function (input) {
  var list = document.getElementById(input.getAttribute('aria-controls'));
  var asked = 0;
  function close() { list.hidden = true; list.innerHTML = '';
    input.setAttribute('aria-expanded', 'false'); }
  input.addEventListener('input', function () {
    var q = input.value.trim(); var mine = ++asked;
    if (!q) { close(); return; }
    fetch('/suggest/' + input.dataset.suggest + '?q=' + encodeURIComponent(q))
      .then(function (r) { return r.json(); })
      .then(function (items) {
        if (mine !== asked) return;
        list.innerHTML = '';
        items.forEach(function (item) {
          var li = document.createElement('li');
          li.setAttribute('role', 'option');
          li.textContent = item.code + ' ' + item.description;
          li.addEventListener('mousedown', function (e) { e.preventDefault(); });
          li.addEventListener('click', function () { input.value = item.code; close(); });
          list.appendChild(li);
        });
        list.hidden = items.length === 0;
        input.setAttribute('aria-expanded', items.length ? 'true' : 'false');
      });
  });
  input.addEventListener('blur', function () { setTimeout(close, 150); });
});
"""

# Session warning: after N seconds without a key press, click or input the dialog shows; "Stay
# signed in" tells the server (which resets its idle clock) and hides it.
SESSION_SCRIPT = """
(function () {
  var box = document.querySelector('[data-warn-after]');
  var after = parseFloat(box.dataset.warnAfter) * 1000; var timer = null;
  function arm() { clearTimeout(timer);
    timer = setTimeout(function () { box.hidden = false; }, after); }
  ['keydown', 'click', 'input'].forEach(function (ev) {
    document.addEventListener(ev, function () { if (box.hidden) arm(); }, true);
  });
  box.querySelector('[data-keep-alive]').addEventListener('click', function () {
    fetch('/session/keep-alive', {method: 'POST'}).then(function () { box.hidden = true; arm(); });
  });
  arm();
})();
"""
