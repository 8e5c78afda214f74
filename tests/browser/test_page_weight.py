"""What a phone downloads, measured in Chromium at 360 px through the DevTools protocol: the dashboard's first visit
(empty cache, signed in) within 35 KB, and the Plotly bundle sent compressed."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.browser.conftest import new_context
from tests.browser.test_customer_app import browser_user, sign_in
from tests.functional.test_customer_pages import billed_customer

BUDGET = 35 * 1024


class Transfers:
    """Every response a page loads: its URL, Content-Encoding, and the bytes that came over the wire (Chromium's
    encodedDataLength when loading finished: headers and the body as sent, compressed or not)."""

    def __init__(self, context, page):
        self.requests = {}
        cdp = context.new_cdp_session(page)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.send("Network.enable")

    def _response(self, event):
        response = event["response"]
        headers = {name.lower(): value for name, value in response["headers"].items()}
        self.requests[event["requestId"]] = {"url": response["url"], "encoding": headers.get("content-encoding"),
                                              "headers": response["encodedDataLength"], "bytes": None,
                                              "from_cache": response.get("fromDiskCache", False)}

    def _finished(self, event):
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["bytes"] = event["encodedDataLength"]

    def finished(self):
        return [entry for entry in self.requests.values() if entry["bytes"] is not None]

    def total(self) -> int:
        return sum(entry["bytes"] for entry in self.finished())


def signed_in_context(browser, live_server, user):
    """A fresh context (an empty cache) carrying the session of a customer who signed in elsewhere."""
    signer = new_context(browser, live_server, service_workers="block")
    page = signer.new_page()
    sign_in(page, user)
    expect(page.locator("#conn-title")).to_be_visible()
    state = signer.storage_state()
    signer.close()
    return new_context(browser, live_server, service_workers="block", storage_state=state)


@pytest.fixture
def first_visit(browser, live_server, csrf_on, login_as):
    """(page, transfers, account): a customer with a year of bills, signed in, on a phone with an empty cache."""
    user, account, _meter = billed_customer(browser_user(login_as), months=13)
    db.session.commit()
    context = signed_in_context(browser, live_server, user)
    page = context.new_page()
    yield page, Transfers(context, page), account
    context.close()


def test_the_dashboards_first_visit_is_small(first_visit, record_property):
    page, transfers, account = first_visit
    page.goto("/")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
    expect(page.locator("a[href^='/bills/']").first).to_be_visible()  # a customer with bills
    loaded = transfers.finished()
    paths = [re.sub(r"^https?://[^/]+", "", entry["url"]) for entry in loaded]
    assert "/" in paths and any(path.startswith("/static/css/app.") for path in paths)
    assert any(path.startswith("/static/js/htmx-") for path in paths) and not any("plotly" in p for p in paths)
    for entry, path in zip(loaded, paths, strict=True):
        assert not entry["from_cache"], path
        if path == "/" or path.endswith((".css", ".js")):
            assert entry["encoding"] in ("br", "gzip"), path
    total = transfers.total()
    record_property("dashboard_first_visit_bytes", total)
    print(f"\ndashboard first visit: {total:,} bytes in {len(loaded)} responses")
    for entry, path in zip(loaded, paths, strict=True):
        print(f"  {entry['bytes']:>7,}  {entry['encoding'] or 'identity':8}  {path}")
    assert total <= BUDGET, f"{total:,} bytes"


def test_the_plotly_bundle_comes_compressed(first_visit, record_property):
    page, transfers, _account = first_visit
    page.goto("/usage")
    with page.expect_response(re.compile(r"/static/js/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js$")) as plotly:
        page.get_by_role("button", name="Explore the chart").click()
    expect(page.locator("#usage-plot svg.main-svg").first).to_be_attached(timeout=15_000)  # Plotly draws
    assert plotly.value.headers["content-encoding"] in ("br", "gzip")
    assert "immutable" in plotly.value.headers["cache-control"]
    page.wait_for_load_state("networkidle")
    sent = next(entry for entry in transfers.finished() if "plotly-basic" in entry["url"])
    record_property("plotly_bytes", sent["bytes"])
    print(f"\nplotly bundle: {sent['bytes']:,} bytes ({sent['encoding']}), 1,191,749 bytes uncompressed")
    assert sent["bytes"] < 400_000  # 1.19 MB as a file
