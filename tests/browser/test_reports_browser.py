"""Staff reports in a real browser: the chart is drawn by Plotly once the page has painted, at the office desk
(1366 px) and on a supervisor's phone (390 px), without the page scrolling sideways."""

from datetime import date

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.payments.models import PaymentMethod
from app.reports.tasks import refresh_recent_report_summaries
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in
from tests.functional.test_reports import _bill, _pay


@pytest.mark.parametrize("viewport", [DESKTOP, SUPERVISOR_PHONE], ids=["1366", "390"])
def test_a_report_draws_its_chart_after_the_table(browser, live_server, csrf_on, screenshot, viewport):
    tariff = factories.make_tariff()
    account = factories.make_account(tariff, region="Pune")
    _bill(account, "2026-10", date(2026, 10, 5), "1200.00", "120")
    _pay(account, "1200.00", PaymentMethod.UPI, date(2026, 10, 9))
    db.session.commit()
    refresh_recent_report_summaries.call_local()
    context = new_context(browser, live_server, viewport=viewport, service_workers="block")
    page = context.new_page()
    refused = []  # what the browser's CSP refused (Plotly's own <style> was, before its stylesheet was linked)
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "strict CSP" in message.text else None)
    try:
        staff_sign_in(page, "billing")
        page.goto("/staff/reports")
        page.get_by_role("link", name="Billed and collected").click()
        expect(page.get_by_role("cell", name="₹1,200.00").first).to_be_visible()
        expect(page.locator("#report-plot .main-svg").first).to_be_visible()  # Plotly has drawn
        expect(page.locator("#report-plot .legendtext", has_text="Collected")).to_be_visible()
        assert no_horizontal_scroll(page)
        assert refused == [] and page.locator("head style").count() == 0
        assert page.evaluate("getComputedStyle(document.querySelector('#report-plot .main-svg')).position")\
            == "absolute"  # Plotly's rules apply, from its stylesheet
        screenshot(page, f"staff-report-collection-{viewport['width']}")
    finally:
        context.close()
