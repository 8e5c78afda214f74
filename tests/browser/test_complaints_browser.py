"""Complaints in a real browser: a customer on a 360 px phone raises one with a photo and reads the reply; staff at an
office desktop (1366 px) find it in their queue, add an internal note and reply."""

import io

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.support.models import Ticket, TicketStatus
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll, small_tap_targets
from tests.browser.test_staff_pages import DESKTOP, staff_sign_in


def test_a_customer_raises_a_complaint_and_staff_answer_it(page, browser, live_server, csrf_on, tmp_path,
                                                          screenshot):
    from PIL import Image

    customer = factories.make_user(mobile="+919822222222", name="Asha Patil")
    account = factories.make_account(region="Pune", holder_name="Asha Patil", consumer_number="170000000201")
    factories.link(customer, account)
    db.session.commit()
    picture = tmp_path / "wire.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1800), (90, 110, 130)).save(buffer, format="JPEG", quality=95)
    picture.write_bytes(buffer.getvalue())

    page.goto("/login")
    page.fill("#login", customer.mobile)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Complaints")).to_be_visible()
    links = [menu.locator("a").nth(i).bounding_box() for i in range(menu.locator("a").count())]
    assert len({box["y"] for box in links}) == 1 and max(b["x"] + b["width"] for b in links) <= 360  # one row
    screenshot(page, "customer-menu-360")
    page.get_by_role("link", name="A problem with your supply, meter or bill? Raise a complaint").click()
    page.get_by_role("link", name="Raise a complaint").click()
    without = page.locator("#without-connection")
    expect(without).to_be_hidden()  # the connection is chosen: no locality or office to give
    page.locator("#account_id").select_option(label="No connection yet (a new connection, or something else)")
    expect(without).to_be_visible()
    page.locator("#account_id").select_option(index=0)
    expect(without).to_be_hidden()
    page.get_by_label("No supply (power cut at my premises)").check()
    page.get_by_label("Describe the problem").fill("No power since 8 am. The service wire near the pole is loose.")
    page.set_input_files("#photo", str(picture))
    assert no_horizontal_scroll(page) and small_tap_targets(page) == []
    screenshot(page, "complaint-new-360")
    page.get_by_role("button", name="Send the complaint").click()
    expect(page.get_by_text("Complaint CMP-2611-000001 registered.")).to_be_visible()
    expect(page.get_by_role("img", name="Photo sent with the complaint")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "complaint-raised-360")
    db.session.commit()
    ticket = db.session.scalar(select(Ticket))

    desk = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    staff_page = desk.new_page()
    try:
        staff_sign_in(staff_page)
        staff_page.get_by_role("navigation", name="Main").get_by_role("link", name="Complaints").click()
        staff_page.get_by_label("Category").select_option("no_supply")
        staff_page.get_by_role("button", name="Show").click()
        screenshot(staff_page, "staff-complaints-1366")
        staff_page.get_by_role("link", name="CMP-2611-000001").click()
        staff_page.get_by_role("textbox", name="Message").fill("Lineman Sunil sent to DP-14.")
        staff_page.get_by_label("Internal note (staff only)").check()
        staff_page.get_by_role("button", name="Save").click()
        expect(staff_page.get_by_text("Note added (staff only).")).to_be_visible()
        staff_page.get_by_role("textbox", name="Message").fill("Our team is on the way; supply within two hours.")
        staff_page.get_by_role("button", name="Save").click()
        expect(staff_page.get_by_text("Reply sent; the customer is told.")).to_be_visible()
        left, right = (staff_page.locator(f"#{name}-title").bounding_box() for name in ("complaint", "reply"))
        assert right["x"] > left["x"] + 400  # the complaint beside the forms on a desktop
        screenshot(staff_page, "staff-complaint-1366")
    finally:
        desk.close()

    page.reload()
    expect(page.get_by_text("Our team is on the way; supply within two hours.")).to_be_visible()
    expect(page.get_by_text("Lineman Sunil")).to_have_count(0)
    db.session.commit()
    db.session.refresh(ticket)
    assert ticket.status is TicketStatus.IN_PROGRESS
    screenshot(page, "complaint-reply-360")
