"""A billing officer opens a connection at the office desktop (1366 px) and replaces its meter, and a reading is
typed on the consumer's page from a supervisor's phone (390 px), with the real forms and their CSRF tokens."""

from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import Account
from app.extensions import db
from app.metering.models import Meter, Reading
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in


def test_a_connection_is_opened_and_its_meter_replaced_at_the_desk(browser, live_server, csrf_on, screenshot):
    tariff = factories.make_tariff()
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "billing")
        page.get_by_role("link", name="Consumers").click()
        page.get_by_role("link", name="Open a new connection").click()
        page.get_by_label("Consumer number").fill("170099990001")
        page.get_by_label("Holder's name").fill("Sunita Kale")
        page.get_by_label("Address").fill("12, MG Road, Pune")
        page.get_by_label("Region (office)").fill("Pune")
        page.get_by_label("Connected on").fill("2026-11-02")
        page.get_by_label("Category", exact=True).fill("LT-I(B) Residential")
        page.get_by_label("Tariff").select_option(str(tariff.id))  # chosen: nothing is preselected
        page.get_by_label("Sanctioned load (kW)").fill("3")
        page.get_by_label("Meter serial").fill("MSE-7001")
        page.get_by_label("Installed on").fill("2026-11-02")
        page.get_by_label("Initial reading (kWh)").fill("12")
        screenshot(page, "staff-connection-new-1366")
        page.get_by_role("button", name="Open the connection").click()
        expect(page.get_by_text("Connection 170099990001 opened with meter MSE-7001.")).to_be_visible()

        page.get_by_role("link", name="Replace the meter").click()
        page.get_by_label("Old meter's final reading (kWh)").fill("40")
        page.get_by_label("Old meter removed on").fill("2026-11-15")
        page.get_by_label("Meter serial").fill("MSE-7002")
        page.get_by_label("Installed on").fill("2026-11-15")
        page.get_by_label("Initial reading (kWh)").fill("0")
        screenshot(page, "staff-meter-replace-1366")
        page.get_by_role("button", name="Replace the meter").click()
        expect(page.get_by_text("Meter replaced: MSE-7002 is in use; the next bill counts both meters.")) \
            .to_be_visible()
        db.session.rollback()  # see what the server wrote
        account = db.session.scalar(select(Account).where(Account.consumer_number == "170099990001"))
        assert [m.serial for m in db.session.scalars(select(Meter).where(Meter.account_id == account.id)
                                                     .order_by(Meter.id))] == ["MSE-7001", "MSE-7002"]
    finally:
        context.close()


def test_a_reading_is_typed_on_the_consumers_page_from_a_phone(browser, live_server, csrf_on, screenshot):
    account = factories.make_account(factories.make_tariff(), consumer_number="170099990002")
    factories.make_meter(account, serial="MSE-7003")
    db.session.commit()
    context = new_context(browser, live_server, viewport=SUPERVISOR_PHONE, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "support")
        page.goto(f"/staff/consumers/{account.id}")
        page.get_by_label("Reader's status").select_option("door_locked")
        page.get_by_role("button", name="Record", exact=True).click()
        expect(page.get_by_text("Recorded: Door locked on")).to_be_visible()
        page.get_by_label("Reader's status").select_option("")
        page.get_by_label("Reading (kWh)").fill("321")
        page.get_by_role("button", name="Record", exact=True).click()
        expect(page.get_by_text("Reading recorded; it waits in the review queue.")).to_be_visible()  # a first one
        db.session.rollback()  # see what the server wrote
        assert db.session.scalar(select(Reading.value)) == 321
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-consumer-reading-390")
    finally:
        context.close()


def test_the_readings_queue_fits_a_phone_with_a_rollover_explained(browser, live_server, screenshot):
    """At 390 px the "(past the meter's highest number)" note wraps instead of widening the page."""
    from datetime import date

    from app.metering.models import ReadingStatus

    account = factories.make_account(factories.make_tariff(), holder_name="Rollover Phone")
    meter = factories.make_meter(account, digits=4)
    factories.make_reading(meter, date(2024, 10, 5), "9990")
    factories.make_reading(meter, date(2024, 11, 5), "15", status=ReadingStatus.NEEDS_REVIEW, rollover=True,
                           review_note="the meter rolled over")
    db.session.commit()
    context = new_context(browser, live_server, viewport=SUPERVISOR_PHONE, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, "support")
        page.goto("/staff/readings")
        expect(page.get_by_text("25 units in 31 days (past the meter's highest number)")).to_be_visible()
        screenshot(page, "staff-readings-rollover-390")
        assert no_horizontal_scroll(page)
    finally:
        context.close()
