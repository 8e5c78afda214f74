"""The cashier's day in a browser: cash and a cheque taken at the counter (1366 px desk), the day closed with the cash
counted, and a supervisor accepting it on a phone (390 px); the pages fit both widths."""

from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in
from tests.functional.test_payment_helpers import billed_account


def take_at_counter(page, consumer_number: str, method: str, amount: str, number: str = "", bank: str = "",
                    micr: str = "", card: tuple[str, str] | None = None):
    page.goto("/staff/payments/counter")
    page.get_by_label("Consumer number").fill(consumer_number)
    page.get_by_label(method, exact=True).check()
    page.get_by_label("Amount received (₹)").fill(amount)
    if number:
        page.get_by_label("Cheque or draft number").fill(number)
        page.get_by_label("MICR code").fill(micr)
        page.get_by_label("Bank and branch").fill(bank)
    if card:
        page.get_by_label("Card approval code").fill(card[0])
        page.get_by_label("Card's last four digits").fill(card[1])
    page.get_by_role("button", name="Continue: check the connection").click()
    page.get_by_role("button", name="Confirm: record and issue receipt").click()
    expect(page.get_by_text("Payment recorded: receipt")).to_be_visible()


def test_a_cashier_closes_the_day_and_a_supervisor_accepts_it(browser, live_server, csrf_on, screenshot):
    account, _ = billed_account(total="5000.00", terms={"due_days": 15})
    cashier = factories.make_user(role="support", office="Pune", name="Asha Kulkarni", email="cashier@example.com")
    supervisor = factories.make_user(role="billing", office="Pune", name="Meera Deshpande", email="boss@example.com")
    db.session.commit()

    desk = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = desk.new_page()
    page.set_default_timeout(10_000)
    try:
        staff_sign_in(page, staff=cashier)
        take_at_counter(page, account.consumer_number, "Cash", "1500")
        take_at_counter(page, account.consumer_number, "Cheque", "2000", "123456", "SBI Kothrud", "411002003")
        take_at_counter(page, account.consumer_number, "Card (POS terminal)", "250", card=("A1B2C3", "4242"))
        page.get_by_role("link", name="Cash book", exact=True).click()
        expect(page.get_by_role("heading", name="My cash book today")).to_be_visible()
        expect(page.locator(".cash-totals tfoot")).to_contain_text("₹3,750.00")
        expect(page.locator(".cash-totals")).to_contain_text("Cards (settled by the acquirer, not deposited)")
        page.get_by_label("Cash counted (₹)").fill("1500")
        screenshot(page, "cash-book-1366")
        assert no_horizontal_scroll(page)
        page.get_by_role("button", name="Close the day").click()
        expect(page.get_by_text("Day closed.")).to_be_visible()
        expect(page.get_by_text("Matches")).to_be_visible()
        page.get_by_role("link", name="Deposit slip").click()
        expect(page.locator(".deposit-slip")).to_contain_text("SBI KOTHRUD")
        expect(page.locator(".deposit-slip")).not_to_contain_text("A1B2C3")  # a card is not deposited
        expect(page.get_by_text("Not in this deposit: 1 card payment of ₹250.00")).to_be_visible()
        expect(page.locator(".deposit-slip tfoot")).to_contain_text("₹3,500.00")
        screenshot(page, "deposit-slip-1366")
        page.goto("/staff/payments/counter")
        expect(page.get_by_text("You closed your cash book for today")).to_be_visible()
    finally:
        desk.close()

    phone = new_context(browser, live_server, viewport=SUPERVISOR_PHONE, service_workers="block")
    page = phone.new_page()
    page.set_default_timeout(10_000)
    try:
        staff_sign_in(page, staff=supervisor)
        page.goto("/staff/cash-books")
        expect(page.get_by_text("Closed, waiting for acceptance")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.locator(".cash-books tbody a").first.click()
        expect(page.get_by_role("heading", name="Accept the cash book")).to_be_visible()
        screenshot(page, "cash-book-390")
        assert no_horizontal_scroll(page)
        page.get_by_role("button", name="Accept", exact=True).click()
        expect(page.get_by_text("Cash book accepted.")).to_be_visible()
        expect(page.get_by_text("Meera Deshpande")).to_be_visible()
    finally:
        phone.close()


def test_the_cash_book_and_the_payment_search_fit_a_phone_in_hindi(browser, live_server, csrf_on, screenshot):
    from decimal import Decimal

    from app.payments import services
    from app.payments.models import PaymentMethod

    account, _ = billed_account(total="5000.00", terms={"due_days": 15})
    cashier = factories.make_user(role="support", office="Pune", name="Asha Kulkarni", email="hindi@example.com",
                                  locale="hi_IN")
    services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("1500.00"), cashier, "browser-key-0001")
    services.record_counter_payment(account.id, PaymentMethod.DEMAND_DRAFT, Decimal("700.00"), cashier,
                                    "browser-key-0002", "654321", "HDFC Aundh", instrument_micr="411240005")
    db.session.commit()
    for viewport, width in ((SUPERVISOR_PHONE, 390), (DESKTOP, 1366)):
        context = new_context(browser, live_server, viewport=viewport, service_workers="block")
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            page.goto("/login")
            page.get_by_label("Mobile number or email").fill(cashier.email)
            page.get_by_label("Password").fill(factories.PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto("/staff/cash-book")
            expect(page.get_by_role("heading", name="आज की मेरी कैश बुक")).to_be_visible()
            screenshot(page, f"cash-book-hi-{width}")
            assert no_horizontal_scroll(page)
            page.goto("/staff/payments?date_from=2026-11-18&date_to=2026-11-01")
            expect(page.get_by_text("अंतिम तारीख शुरुआती तारीख से पहले है।")).to_be_visible()
            page.goto("/staff/payments?method=demand_draft")
            expect(page.locator(".payments-table tbody")).to_contain_text("654321")
            screenshot(page, f"payments-search-hi-{width}")
            assert no_horizontal_scroll(page)
        finally:
            context.close()
