"""Real-browser fixtures: the app served on a local port from a thread, and headless Chromium (Debian's
build, driven by Playwright without downloading a browser) at a phone's viewport.

The server runs on the suite's clock (tests/conftest.py); Chromium cannot be moved in time, so each context's
pages get the server's "now" (Playwright's clock) and the server's cookie lifetimes are handed to the browser
as Max-Age, which does not depend on whose clock reads the date.
"""

import os
import shutil
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 360, "height": 640}
SCREENSHOTS = Path(os.environ.get("DTECH_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _cookie_lifetime_as_max_age(header: str) -> str:
    """`Expires=<date>` (a date on the server's clock) → `Max-Age=<seconds from the server's now>`."""
    parts = [part.strip() for part in header.split(";")]
    expires = next((p for p in parts if p.lower().startswith("expires=")), None)
    if expires is None or any(p.lower().startswith("max-age=") for p in parts):
        return header
    seconds = int((parsedate_to_datetime(expires[8:]) - datetime.now(UTC)).total_seconds())
    return "; ".join([p for p in parts if p is not expires] + [f"Max-Age={max(seconds, 0)}"])


class BrowserClockCookies:
    """WSGI middleware: cookie lifetimes the browser can judge on its own clock."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            headers = [(name, _cookie_lifetime_as_max_age(value) if name.lower() == "set-cookie" else value)
                       for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


@pytest.fixture(scope="session")
def live_server(app):
    """The test app on 127.0.0.1 with CSRF on, as in production."""
    server = make_server("127.0.0.1", 0, BrowserClockCookies(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def new_context(browser, live_server, **options):
    """A browser context like a phone in India: its pages read the server's (the suite's) date and time."""
    options = {"viewport": PHONE, "locale": "en-IN", "timezone_id": "Asia/Kolkata", **options}
    context = browser.new_context(base_url=live_server, **options)
    context.clock.set_fixed_time(datetime.now(UTC))
    return context


@pytest.fixture
def page(browser, live_server, csrf_on):
    context = new_context(browser, live_server, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") keeps a PNG under screenshots/ for a person to look at."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def has_chromium() -> bool:
    return shutil.which("chromium") is not None
