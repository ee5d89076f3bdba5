"""PHI masking of portal screenshots: every screenshot a run takes hides PHI at capture time.

What belongs here: which labels mark PHI (member id, names, date of birth), marking the fields
and the values shown next to those labels on the page, and taking the masked screenshot. Where
screenshots go and when a run takes one is steps.py.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

# Labels whose fields and values are PHI: masked in every screenshot.
PHI_LABELS = (
    "member id", "member number", "subscriber id", "patient name", "first name", "last name",
    "name", "date of birth", "dob", "birth date",
)  # fmt: skip
MASK_COLOR = "#000000"


def mask_phi(page: Page) -> int:
    """Mark PHI fields and the values shown next to PHI labels with `data-precert-phi`, so the
    screenshot masks them; returns how many were marked."""
    count: int = page.locator("body").evaluate(_MASK_JS, {"labels": list(PHI_LABELS)})
    return count


def masked_screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot at `path` with the PHI `mask_phi` marks painted over; a
    PlaywrightError goes to the caller (the page may be gone)."""
    mask_phi(page)
    page.screenshot(
        path=str(path),
        full_page=True,
        mask=[page.locator("[data-precert-phi]")],
        mask_color=MASK_COLOR,
    )


_MASK_JS = r"""(root, a) => {
  const norm = (t) => (t || '').replace(/\s+/g, ' ').trim().toLowerCase().replace(/[\s:*]+$/, '');
  const phi = new Set(a.labels);
  const mark = (el) => { if (el) el.setAttribute('data-precert-phi', '1'); };
  for (const el of root.querySelectorAll('input, select, textarea')) {
    const names = [el.getAttribute('aria-label'), el.getAttribute('placeholder'),
      el.getAttribute('title'),
      el.getAttribute('name') && el.getAttribute('name').replace(/[_-]/g, ' ')];
    for (const lab of el.labels || []) names.push(lab.textContent);
    if (names.some((n) => phi.has(norm(n)))) mark(el);
  }
  for (const el of root.querySelectorAll('label, th, td, dt, span, div, p, strong, b')) {
    const own = Array.from(el.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join(' ');
    if (!phi.has(norm(own))) continue;
    if (el.tagName === 'LABEL' && el.control) { mark(el.control); continue; }
    mark(el.nextElementSibling);
  }
  return root.querySelectorAll('[data-precert-phi]').length;
}"""
