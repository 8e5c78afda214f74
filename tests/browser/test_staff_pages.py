"""Staff at an office desktop (1366 px) and on a supervisor's phone (390 px): finding a consumer as you type and
reading the consumer's page."""

from datetime import date
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from app.billing import ledger
from app.billing.models import BillRun, BillRunStatus
from app.billing.services import BUNDLED_TARIFFS, import_tariff
from app.db import begin_write, utcnow
from app.extensions import db
from app.metering.models import Meter, ReadingSource, ReadingStatus
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll

DESKTOP = {"width": 1366, "height": 900}
SUPERVISOR_PHONE = {"width": 390, "height": 844}


def staff_sign_in(page, role: str = "support", staff=None):
    if staff is None:
        staff = factories.make_user(role=role, email=f"{role}-desk@example.com", name="Desk")
        db.session.commit()
    page.goto("/login")
    page.get_by_label("Mobile number or email").fill(staff.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Staff home")).to_be_visible()


def consumers():
    tariff = factories.make_tariff()
    asha = factories.make_account(tariff, consumer_number="170000000101", holder_name="Asha Kulkarni")
    factories.make_account(tariff, consumer_number="170000000102", holder_name="Rohan Kulkarni")
    factories.make_account(tariff, consumer_number="170000000103", holder_name="Vikram Joshi")
    meter = factories.make_meter(asha, serial="MSE-1001")
    factories.make_reading(meter, date(2026, 10, 5), "1150")
    factories.make_bill(asha, "875.00")
    db.session.commit()
    return asha


def test_a_consumer_is_found_as_you_type_and_opened(browser, live_server, csrf_on, screenshot):
    consumers()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page)
        page.get_by_role("link", name="Consumers").click()
        page.get_by_label("Consumer number, name, mobile number or meter serial").press_sequentially("kulk")
        expect(page.get_by_text("2 connections found.")).to_be_visible()  # htmx: no button pressed
        expect(page).to_have_url(f"{live_server}/staff/consumers?q=kulk")
        screenshot(page, "staff-consumers-1366")
        page.get_by_role("link", name="170000000101 · Asha Kulkarni").click()
        expect(page.get_by_role("heading", name="170000000101 · Asha Kulkarni")).to_be_visible()
        left, right = (page.locator(f"#{name}-title").bounding_box() for name in ("connection", "users"))
        assert right["x"] > left["x"] + 400  # two columns side by side on a desktop
        screenshot(page, "staff-consumer-1366")
        page.go_back()  # the search and its results come back
        expect(page.get_by_text("2 connections found.")).to_be_visible()
    finally:
        context.close()


def test_the_consumer_page_fits_a_supervisors_phone(browser, live_server, csrf_on, screenshot):
    asha = consumers()
    context = new_context(browser, live_server, viewport=SUPERVISOR_PHONE, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "billing")
        page.goto(f"/staff/consumers/{asha.id}")
        expect(page.get_by_role("heading", name="Ledger")).to_be_visible()
        assert no_horizontal_scroll(page)
        nav = page.get_by_role("navigation", name="Main")
        assert nav.bounding_box()["height"] <= 56  # one line ("Menu"), not five rows of links
        screenshot(page, "staff-consumer-390")
        nav.get_by_text("Menu").click()  # a <details>: opens without JavaScript
        names = ("Staff home", "Consumers", "Readings", "Bill runs", "Payments", "Counter", "Corrections",
                 "Password")
        for name in names:
            expect(nav.get_by_role("link", name=name)).to_be_in_viewport()  # the menu is never cut off
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-menu-open-390")
    finally:
        context.close()


def test_the_staff_menu_is_one_row_on_a_desktop(browser, live_server, csrf_on, screenshot):
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "admin")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_text("Menu", exact=True)).to_be_hidden()  # the disclosure is the phone's
        for name in ("Staff home", "Consumers", "Bill runs", "System", "Password"):
            expect(nav.get_by_role("link", name=name)).to_be_in_viewport()
        assert nav.get_by_role("link").count() == 20  # each link once in the accessibility tree
        screenshot(page, "staff-home-1366")
    finally:
        context.close()


def test_a_flagged_reading_is_approved_from_the_queue(browser, live_server, csrf_on, screenshot):
    asha = consumers()
    meter = db.session.scalar(select(Meter).where(Meter.account_id == asha.id))
    factories.make_reading(meter, date(2026, 11, 5), "1890", source=ReadingSource.SELF,
                           status=ReadingStatus.NEEDS_REVIEW, review_note="much higher use than usual")
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Readings").click()
        card = page.get_by_role("region", name="1,890 · 5 Nov 2026")
        expect(card.get_by_text("Much higher use than usual")).to_be_visible()
        expect(card.get_by_text("740 units in 31 days")).to_be_visible()
        screenshot(page, "staff-readings-1366")
        card.get_by_role("button", name="Reject").click()  # no reason given: refused, nothing changes
        expect(page.get_by_text("Say why the reading is rejected: the customer is told.")).to_be_visible()
        page.get_by_role("region", name="1,890 · 5 Nov 2026").get_by_role("button", name="Approve").click()
        expect(page.get_by_text("Reading of 1,890 approved: the next bill uses it.")).to_be_visible()
        expect(page.get_by_text("Nothing to review.")).to_be_visible()
    finally:
        context.close()


def test_a_bill_run_shows_its_progress_live_and_stops_watching_when_it_ends(browser, live_server, csrf_on,
                                                                             screenshot):
    run = BillRun(cycle="2026-10", region="", total=4, done=1, heartbeat_at=utcnow())
    db.session.add(run)
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "billing")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Bill runs").click()
        page.get_by_role("link", name="2026-10 · Every region").click()
        expect(page.get_by_text("1 of 4 connections")).to_be_visible()
        screenshot(page, "staff-bill-run-1366")
        db.session.rollback()
        begin_write(db.session)  # the server writes too (each poll): take the write lock first, as a run does
        run.done, run.status = 4, BillRunStatus.FINISHED  # the task queue finishes the run meanwhile
        db.session.commit()
        expect(page.get_by_text("4 of 4 connections")).to_be_visible()  # no reload: htmx fetched it
        expect(page.get_by_role("heading", name="Finished")).to_be_visible()
        expect(page.locator("#run-progress[hx-trigger]")).to_have_count(0)  # and it stopped asking
    finally:
        context.close()


def test_a_tariffs_quote_follows_the_figures_as_they_are_typed(browser, live_server, csrf_on, screenshot):
    version = import_tariff((BUNDLED_TARIFFS / "kseb-lt1a-2023-11.json").read_text())
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "billing")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Tariffs").click()
        page.get_by_role("link", name="From 1 Nov 2023").first.click()
        page.get_by_label("Days in the period").fill("60")
        page.get_by_label("Units", exact=True).fill("200")  # TARIFF_FORMAT's case KL-2023-02
        expect(page.locator("#quote")).to_contain_text("₹933.00")
        screenshot(page, "staff-tariff-1366")
        assert page.url.endswith(f"/staff/tariffs/versions/{version.id}")  # no page load: htmx
    finally:
        context.close()


def test_a_credit_note_is_proposed_on_the_consumer_page_and_approved_by_another_admin(browser, live_server, csrf_on,
                                                                                      screenshot):
    asha = consumers()
    checker = factories.make_user(role="admin", email="checker@example.com", name="Checker")
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "billing")
        page.goto(f"/staff/consumers/{asha.id}")
        note = page.locator("form", has=page.get_by_label("Amount (₹)"))
        note.get_by_label("Amount (₹)").fill("120.50")
        note.get_by_label("Reason (the customer is shown it)").fill("meter rent charged twice")
        note.get_by_role("button", name="Propose").click()
        expect(page.get_by_text("Proposed: it takes effect when another administrator approves it")).to_be_visible()
        expect(page.locator("#corrections").get_by_text("Waiting for approval", exact=True)).to_be_visible()
        screenshot(page, "staff-consumer-corrections-1366")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # signed out before going on
        staff_sign_in(page, staff=checker)
        page.get_by_role("link", name="Corrections").first.click()
        expect(page.get_by_text("meter rent charged twice")).to_be_visible()
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_text("Approved: the correction is made and the customer sees it.")).to_be_visible()
    finally:
        context.close()
    db.session.rollback()  # the snapshot this session read before the pages wrote
    assert ledger.balance(asha.id) == Decimal("754.50")
