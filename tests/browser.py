"""A real browser for the tests: Playwright driving the system's Chromium (``/usr/bin/chromium``;
no browser is downloaded). A test that needs it skips when Chromium or Playwright is missing,
unless ``$BO_REQUIRE_BROWSER`` is set (CI, ``.ci/run``): then it fails. Screenshots go to
``$BO_TEST_ARTIFACTS`` (default ``<repo>/test-artifacts/``, ignored by git)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("BO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
REQUIRED = bool(os.environ.get("BO_REQUIRE_BROWSER"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why there is no browser to drive, or None."""
    if CHROMIUM is None:
        return "headless Chromium not installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def need_browser() -> None:
    """Skip the test without a browser, or fail it when ``$BO_REQUIRE_BROWSER`` says one must be there."""
    reason = missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"BO_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("BO_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium (the system's) under Playwright, for the module's tests."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline(context, allowed=lambda url: url.startswith(("file:", "data:", "blob:"))) -> list[str]:
    """Abort every request of ``context`` whose URL ``allowed`` refuses (the network is off);
    returns the list the aborted URLs are appended to."""
    blocked: list[str] = []

    def handle(route):
        url = route.request.url
        if allowed(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", handle)
    return blocked
