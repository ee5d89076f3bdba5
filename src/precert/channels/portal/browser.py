"""Getting a Chromium for a portal run: where the browser comes from and its timeouts.

What belongs here: `BrowserSettings` (reuse a browser or launch Debian's Chromium, and how long
the run waits for elements, texts and pages) and launching and closing that browser. Driving the
page is runner.py and steps.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
