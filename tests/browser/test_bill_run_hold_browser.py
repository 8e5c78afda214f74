"""A supervisor holds a month's bill run, looks at its sample and its exceptions, and releases it: at an office
desktop (1366 px) and on a phone (390 px), in English and Hindi."""

from datetime import UTC, date, datetime
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import Account
from app.billing.models import Bill, BillRun, TariffParam
from app.extensions import db
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in


def november_2026() -> None:
    """Six connections read in October and November 2026, each using more than the one before, and one without a
    meter, which the run cannot bill."""
    tariff = factories.make_tariff("derc-domestic-2019.json")  # in force in 2026
    for name, value in (("ppac_percent", "8.75"), ("pension_percent", "3.8")):  # the month's parameters
        db.session.add(TariffParam(tariff_id=tariff.id, month=date(2026, 11, 1), name=name, value=Decimal(value)))
    for n in range(6):
        account = factories.make_account(tariff, holder_name=f"Holder {n + 1}")
        meter = factories.make_meter(account)
        factories.make_reading(meter, date(2026, 10, 5), "1000")
        factories.make_reading(meter, date(2026, 11, 5), str(1040 + 90 * n))
    factories.make_account(tariff, holder_name="No Meter Yet")
    db.session.commit()


def speaks(user, locale: str) -> None:
    db.session.rollback()
    db.session.get(type(user), user.id).locale = locale
    db.session.commit()


def test_a_supervisor_holds_a_run_looks_at_it_and_releases_it(browser, live_server, csrf_on, screenshot, clock):
    clock.move_to(datetime(2026, 12, 2, 4, 30, tzinfo=UTC))  # 10:00 in India: November has ended, it may be billed
    november_2026()
    officer = factories.make_user(role="billing", email="supervisor@example.com", name="Meera Supervisor")
    db.session.commit()
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff_sign_in(page, staff=officer)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Bill runs").click()
        expect(page.get_by_label("Hold the bills until I release them")).to_be_checked()  # the default
        page.get_by_label("Billing month").fill("2026-11")
        page.get_by_role("button", name="Start the run").click()
        expect(page.get_by_text("Held: the customers do not see these bills")).to_be_visible()
        expect(page.get_by_role("heading", name="A sample to check before release")).to_be_visible()
        expect(page.get_by_text("No Meter Yet")).to_be_visible()
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-bill-run-held-1366")
        page.set_viewport_size(SUPERVISOR_PHONE)
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-bill-run-held-390")
        speaks(officer, "hi_IN")
        page.reload()
        expect(page.get_by_role("button", name="बिल जारी करें")).to_be_visible()
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-bill-run-held-390-hi")
        speaks(officer, "en_IN")
        page.reload()

        db.session.rollback()
        largest = db.session.scalar(select(Account.consumer_number).join(Bill).order_by(Bill.current_charges.desc()))
        assert largest is not None
        page.get_by_role("link", name=largest, exact=True).first.click()  # the bill, as staff see it
        expect(page.get_by_text("this bill is in a bill run that has not been released")).to_be_visible()
        page.go_back()

        page.set_viewport_size(DESKTOP)
        page.get_by_role("button", name="Release the bills").click()
        expect(page.get_by_text("bills issued today; the customers are being told")).to_be_visible()
        expect(page.get_by_text("Released on")).to_contain_text("Meera Supervisor")
        expect(page.get_by_role("button", name="Release the bills")).to_have_count(0)
        screenshot(page, "staff-bill-run-released-1366")
        page.set_viewport_size(SUPERVISOR_PHONE)
        assert no_horizontal_scroll(page)
        screenshot(page, "staff-bill-run-released-390")
        db.session.rollback()
        assert db.session.scalar(select(BillRun)).released_by_id == officer.id
    finally:
        context.close()
