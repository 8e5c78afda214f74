"""Announcements in a real browser: a billing officer at an office desktop (1366 px) writes one for a list of consumer
numbers (an unknown number is named, nothing typed is lost), it is sent and listed as current; a supervisor's phone
(390 px) reads the list in one column, in Hindi too; the customer's dashboard (360 px) shows it."""

from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in


def test_an_announcement_for_listed_connections_reaches_their_dashboards(page, browser, live_server, csrf_on,
                                                                         screenshot):
    customer = factories.make_user(mobile="+919833333333", name="Asha Patil")
    account = factories.make_account(region="Pune", holder_name="Asha Patil", consumer_number="170000000301")
    factories.link(customer, account)
    factories.make_account(region="Pune", consumer_number="170000000302")
    sup = factories.make_user(role="admin", email="sup@example.com", name="Sup")
    hindi = factories.make_user(role="billing", email="hindi@example.com", name="Hindi", locale="hi_IN")
    db.session.commit()

    desk = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    staff_page = desk.new_page()
    try:
        staff_sign_in(staff_page, "billing")
        staff_page.get_by_role("navigation", name="Main").get_by_role("link", name="Announcements").click()
        staff_page.get_by_role("link", name="Write an announcement").click()
        staff_page.get_by_label("Title", exact=True).fill("Planned outage on Karve Road")
        staff_page.get_by_label("Text", exact=True).fill(
            "No power on 19 Nov from 10:00 to 14:00 for work on the feeder.")
        staff_page.get_by_label("A list of consumer numbers").check()
        staff_page.get_by_role("textbox", name="Consumer numbers").fill("170000000301\n170000000302\n170000009999")
        staff_page.get_by_label("Starts (India time)").fill("2026-11-18T10:00")
        staff_page.get_by_label("Ends (India time, optional)").fill("2026-11-19T18:00")
        staff_page.get_by_role("button", name="Save the announcement").click()
        expect(staff_page.get_by_text("No connection has the consumer number 170000009999.")).to_be_visible()
        expect(staff_page.get_by_label("Title", exact=True)).to_have_value("Planned outage on Karve Road")
        left, right = (staff_page.locator(f"#{name}-title").bounding_box() for name in ("what", "who"))
        assert right["x"] > left["x"] + 400  # side by side on a desktop
        screenshot(staff_page, "staff-announcement-refused-1366")
        staff_page.get_by_role("textbox", name="Consumer numbers").fill("170000000301, 170000000302")
        staff_page.get_by_role("button", name="Save the announcement").click()
        expect(staff_page.get_by_text("Announcement saved")).to_be_visible()
        current = staff_page.locator("#announcement-1")
        expect(current).to_contain_text("2 connections")
        expect(current).to_contain_text("Sent")
        staff_page.get_by_role("link", name="Write an announcement").click()
        staff_page.get_by_label("Title", exact=True).fill("New collection centre in Kothrud")
        staff_page.get_by_label("Text", exact=True).fill("Open from 1 December, 9:00 to 17:00, Monday to Saturday.")
        staff_page.get_by_label("Everyone", exact=True).check()
        staff_page.get_by_label("Starts (India time)").fill("2026-12-01T09:00")
        staff_page.get_by_role("button", name="Save the announcement").click()
        expect(staff_page.locator("#announcement-2")).to_contain_text("Not sent yet")
        screenshot(staff_page, "staff-announcements-1366")
    finally:
        desk.close()

    phone = new_context(browser, live_server, viewport=SUPERVISOR_PHONE, service_workers="block")
    supervisor = phone.new_page()
    try:
        staff_sign_in(supervisor, staff=sup)
        supervisor.goto("/staff/announcements")
        expect(supervisor.get_by_text("Planned outage on Karve Road")).to_be_visible()
        assert no_horizontal_scroll(supervisor)
        screenshot(supervisor, "staff-announcements-390")
        supervisor.goto("/staff/announcements/2/edit")
        assert no_horizontal_scroll(supervisor)
        screenshot(supervisor, "staff-announcement-edit-390")
        supervisor.context.clear_cookies()
        supervisor.goto("/login")
        supervisor.get_by_label("Mobile number or email").fill(hindi.email)
        supervisor.get_by_label("Password").fill(factories.PASSWORD)
        supervisor.locator("button[type=submit]").click()
        supervisor.goto("/staff/announcements")
        expect(supervisor.get_by_role("heading", name="घोषणाएँ", exact=True)).to_be_visible()
        assert no_horizontal_scroll(supervisor)
        screenshot(supervisor, "staff-announcements-390-hi")
    finally:
        phone.close()

    page.goto("/login")
    page.fill("#login", customer.mobile)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Planned outage on Karve Road")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "dashboard-announcement-360")
