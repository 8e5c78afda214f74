"""A head-office admin at an office desktop (1366 px): adds a staff member (with the CSRF token on), finds and
locks a customer, and reads the audit log and the system page."""

import re

from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, staff_sign_in


def test_an_admin_adds_staff_locks_a_customer_and_reads_the_audit_log(browser, live_server, csrf_on, screenshot):
    factories.make_account(region="Pune")
    factories.make_user(name="Ravi Kumar", mobile="+919811111111")
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "admin")
        page.get_by_role("link", name="People").click()
        page.get_by_label("Name", exact=True).fill("Asha Support")
        page.get_by_label("Email", exact=True).fill("asha@dtech.example")
        page.get_by_label("Office").select_option("Pune")
        page.get_by_role("button", name="Add and send the link").click()
        expect(page.get_by_role("heading", name="Asha Support")).to_be_visible()
        expect(page.get_by_text("can now choose a password")).to_be_visible()
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-person-1366")

        page.get_by_role("link", name="People").first.click()
        page.get_by_label("Mobile number, email or name").fill("ravi")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("link", name="Ravi Kumar").click()
        page.get_by_role("button", name="Lock the account").click()
        expect(page.get_by_text("Locked: cannot sign in")).to_be_visible()
        screenshot(page, "staff-customer-1366")

        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_text("user.locked")).to_be_visible()
        expect(page.get_by_text("user.created")).to_be_visible()
        page.get_by_label("Action starts with").fill("user.locked")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"action=user\.locked"))
        expect(page.get_by_text("user.created")).to_have_count(0)
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-audit-1366")

        page.get_by_role("link", name="System").click()
        expect(page.get_by_role("heading", name="Periodic tasks")).to_be_visible()
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-system-1366")
    finally:
        context.close()
