"""Getting a Chromium for a portal run: where the browser comes from and its timeouts.

What belongs here: `BrowserSettings` (reuse a browser or launch Debian's Chromium, and how long
the run waits for elements, texts and pages), launching and closing that browser, and the one
Chromium a worker thread keeps between runs (`kept_browser`). Driving the
page is runner.py and steps.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@dataclass
class BrowserSettings:
    """How to get a browser: reuse `browser` (tests share one) or launch Chromium per run."""

    browser: Browser | None = None
    executable_path: str = CHROMIUM
    args: tuple[str, ...] = CHROMIUM_ARGS
    locate_timeout_seconds: float = 10.0
    wait_timeout_seconds: float = 15.0  # a `Wait for the text` without "up to N seconds"
    navigation_timeout_seconds: float = 30.0


@contextmanager
def open_browser(settings: BrowserSettings) -> Iterator[Browser]:
    """The browser `settings` names, or a Chromium launched for this run and closed after it."""
    if settings.browser is not None:
        yield settings.browser
        return
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=settings.executable_path, args=list(settings.args), headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


# A worker thread's Chromium, kept between its runs. Playwright's sync objects belong to the thread
# that made them, so each thread keeps its own.
_kept = threading.local()


def kept_browser(settings: BrowserSettings | None = None) -> BrowserSettings:
    """This thread's long-lived Chromium, launched on first use and again if it went away: each
    run still opens a fresh browser context (no cookies, a new sign-in), but saves launching a
    browser (about 1.5 s a run). For worker threads; the process's exit ends the browser."""
    held: BrowserSettings | None = getattr(_kept, "settings", None)
    if held is not None and held.browser is not None and held.browser.is_connected():
        return held
    base = settings or BrowserSettings()
    if getattr(_kept, "playwright", None) is None:
        _kept.playwright = sync_playwright().start()
    browser = _kept.playwright.chromium.launch(
        executable_path=base.executable_path, args=list(base.args), headless=True
    )
    kept = replace(base, browser=browser)
    _kept.settings = kept
    return kept
