"""A portal worker thread keeps one Chromium between its runs (each run opens a fresh context in
it) and launches a new one when the kept browser went away; another thread keeps its own.

The threads here are worker threads: Playwright's sync API allows one instance per thread, and the
test process's main thread already has the session's shared browser."""

from __future__ import annotations

import threading
from collections.abc import Callable

from precert.channels.portal import browser as browsers


def in_worker_thread(work: Callable[[], object]) -> object:
    """Run `work` on a thread of its own (as a consumer's worker does) and return its result."""
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as error:  # noqa: BLE001 — re-raised on the test's thread
            errors.append(error)
        finally:
            playwright = getattr(browsers._kept, "playwright", None)
            kept = getattr(browsers._kept, "settings", None)
            if kept is not None and kept.browser is not None and kept.browser.is_connected():
                kept.browser.close()
            if playwright is not None:
                playwright.stop()

    thread = threading.Thread(target=run, name="portal-worker-test")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the worker thread did not finish"
    if errors:
        raise errors[0]
    return results[0]


def test_a_worker_thread_keeps_one_chromium_and_relaunches_one_that_went_away() -> None:
    def work() -> tuple[bool, bool, bool, str]:
        first = browsers.kept_browser().browser
        again = browsers.kept_browser().browser
        assert first is not None and again is not None
        same = first is again
        first.close()  # the browser crashed or was closed
        third = browsers.kept_browser().browser
        assert third is not None
        relaunched = third is not first and third.is_connected()
        context = third.new_context()
        page = context.new_page()
        page.set_content("<p>Dashboard</p>")
        text = page.inner_text("p")
        context.close()
        return same, relaunched, not first.is_connected(), text

    assert in_worker_thread(work) == (True, True, True, "Dashboard")


def test_two_worker_threads_keep_browsers_of_their_own() -> None:
    kept: list[object] = []

    def work() -> bool:
        mine = browsers.kept_browser().browser
        kept.append(mine)
        return mine is not None and mine.is_connected()

    assert in_worker_thread(work) is True
    assert in_worker_thread(work) is True
    assert kept[0] is not kept[1]
