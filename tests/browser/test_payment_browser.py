"""A customer on a 360 px phone pays the current bill through the sandbox gateway (TEST MODE) and sees it paid,
with the receipt; and the UPI page offers the app link and the QR code."""

import re

from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.browser.test_sign_in_flow import no_horizontal_scroll, small_tap_targets
from tests.functional.test_payment_helpers import billed_account


def sign_in(page, user):
    page.goto("/login")
    page.get_by_label("Mobile number or email").fill(user.mobile)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def fits_the_phone(page) -> None:
    assert no_horizontal_scroll(page)
    assert small_tap_targets(page) == []


def test_pay_the_current_bill_through_the_sandbox_gateway(page, screenshot):
    user = factories.make_user(mobile="+919833300001", name="Meena Iyer")
    account, bill = billed_account(user, "2000.00")  # 1% prompt and 0.25% digital rebates on offer
    db.session.commit()
    sign_in(page, user)
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
    expect(page.locator(".due-card .chip")).to_have_text("Due")

    page.get_by_role("link", name=re.compile(r"^Pay ₹2,000\.00")).click()
    expect(page.get_by_role("heading", name="Pay your bill")).to_be_visible()
    expect(page.get_by_label("Amount to pay (₹)")).to_have_value("1975.00")  # net of ₹25.00 in rebates
    expect(page.get_by_text("Prompt payment rebate")).to_be_visible()
    screenshot(page, "pay-360")
    fits_the_phone(page)
    page.get_by_role("button", name="Continue to pay").click()

    expect(page.get_by_text("TEST MODE · sandbox gateway")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Sandbox gateway: pay ₹1,975.00"))).to_be_visible()
    screenshot(page, "sandbox-checkout-360")
    fits_the_phone(page)
    page.get_by_role("button", name="Succeed").click()

    expect(page.get_by_role("heading", name="Payment of ₹1,975.00")).to_be_visible()
    expect(page.locator("#payment-status .chip")).to_have_text("Paid")
    expect(page.get_by_text("Rebate of ₹25.00 credited")).to_be_visible()
    screenshot(page, "payment-paid-360")
    fits_the_phone(page)
    page.get_by_role("link", name="See the receipt").click()
    receipt = page.get_by_role("heading", name=re.compile(r"^Receipt RCP\d{9}$"))
    expect(receipt).to_be_visible()
    receipt_number = receipt.inner_text().split()[-1]
    screenshot(page, "receipt-360")
    fits_the_phone(page)

    page.goto("/")
    expect(page.locator(".due-card .chip")).to_have_text("Paid")
    expect(page.get_by_text("Nothing to pay. Thank you!")).to_be_visible()
    expect(page.get_by_text(f"Receipt {receipt_number}")).to_be_visible()
    screenshot(page, "home-paid-360")
    page.goto("/payments")
    expect(page.get_by_text(f"Receipt {receipt_number}")).to_be_visible()
    fits_the_phone(page)


def test_pay_with_a_upi_app_shows_the_link_and_the_qr_and_waits_for_the_bank(page, screenshot):
    user = factories.make_user(mobile="+919833300002", name="Ravi Kumar")
    billed_account(user, "640.00", terms={"due_days": 15})
    db.session.commit()
    sign_in(page, user)
    page.goto("/pay")
    page.get_by_label("UPI app on this phone, or scan a QR code").check()
    page.get_by_role("button", name="Continue to pay").click()
    upi = page.get_by_role("link", name="Open my UPI app")
    expect(upi).to_have_attribute("href", re.compile(r"^upi://pay\?pa=.+&am=640\.00&tr=DT[A-Z0-9]{14}&"))
    expect(page.locator("figure svg")).to_be_visible()
    expect(page.locator("#payment-status .chip")).to_have_text("Pending confirmation")
    screenshot(page, "upi-pending-360")
    fits_the_phone(page)
    # The bank confirms (the sandbox's UPI app pays): the page turns to paid by itself (htmx polling).
    status_url = page.url
    page.get_by_role("link", name="TEST MODE: open the sandbox UPI app").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_text("Payment sent.")).to_be_visible()
    page.goto(status_url)
    expect(page.locator("#payment-status .chip")).to_have_text("Paid")
