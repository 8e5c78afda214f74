"""Staff tables on a phone (issue 12 review): at 390 px each row of the payments search, the complaints queue, the
cash books, reconciliation, users, the audit log and the system page is a block of "label: value" lines that fits
the screen (nothing scrolls sideways inside its card); at 1366 px they stay tables. So do the report tables."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.payments import cash_books, services
from app.payments.models import PaymentMethod
from app.support import services as complaints
from app.support.models import TicketCategory
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in
from tests.functional.test_payment_helpers import billed_account

PAGES = {"payments": "/staff/payments?date_from=2026-11-01", "complaints": "/staff/complaints",
         "cash-books": "/staff/cash-books", "reconciliation": "/staff/reconciliation", "users": "/staff/users",
         "audit": "/staff/audit", "system": "/staff/system", "arrears-report": "/staff/reports/arrears",
         "complaints-report": "/staff/reports/complaints"}

KEYS = ("stacked-table-key-0001", "stacked-table-key-0002")
EMPTY_HERE = {"reconciliation"}  # nothing to reconcile in this office: its tables show "none" only

# Every stacked table: is any wider than the box it sits in (so it would scroll inside its card)?
TABLES_WIDER_THAN_THEIR_BOX = """() => [...document.querySelectorAll('table.data-table')]
    .filter(t => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1).map(t => t.className)"""
FIRST_CELL = """() => { const cell = document.querySelector('table.stacked tbody [data-label]');
    if (!cell) return null;
    return {label: getComputedStyle(cell, '::before').content, display: getComputedStyle(cell).display,
            head: getComputedStyle(cell.closest('table').querySelector('thead')).position}; }"""


@pytest.fixture
def busy_office():
    admin = factories.make_user(role="admin", name="Hema Head", email="hema@example.com")
    cashier = factories.make_user(role="support", office="Pune", name="Asha Kulkarni", email="asha@example.com")
    account, _ = billed_account(total="5000.00", terms={"due_days": 15})
    services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("1500.00"), cashier, KEYS[0])
    services.record_counter_payment(account.id, PaymentMethod.CHEQUE, Decimal("2000.00"), cashier, KEYS[1],
                                    "123456", "State Bank of India, Kothrud branch", instrument_micr="411002003")
    cash_books.close_day(cash_books.todays_book(cashier).id, Decimal("1500.00"), None, cashier)
    customer = factories.make_user()
    factories.link(customer, account)
    complaints.raise_complaint(customer, account, TicketCategory.VOLTAGE, "Voltage drops every evening.")
    db.session.commit()
    return admin


@pytest.mark.parametrize(("viewport", "width"), [(SUPERVISOR_PHONE, 390), (DESKTOP, 1366)])
def test_staff_tables_read_as_rows_on_a_phone_and_tables_on_a_desk(browser, live_server, csrf_on, screenshot,
                                                                   busy_office, viewport, width):
    context = new_context(browser, live_server, viewport=viewport, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        staff_sign_in(page, staff=busy_office)
        for name, url in PAGES.items():
            page.goto(url)
            expect(page.locator("table.stacked").first).to_be_visible()
            screenshot(page, f"stacked-{name}-{width}")
            assert no_horizontal_scroll(page), name
            assert page.evaluate(TABLES_WIDER_THAN_THEIR_BOX) == [], name
            cell = page.evaluate(FIRST_CELL)
            if cell is None:
                assert name in EMPTY_HERE, f"{name}: no row to look at"
                continue
            if width == 390:  # a block per row, each value after its column's name; the header row hidden
                assert cell["display"] == "table" and cell["label"] not in ("none", "normal", '""'), name
                assert cell["head"] == "absolute", name
            else:
                assert cell["display"] == "table-cell" and cell["label"] in ("none", "normal"), name
    finally:
        context.close()
