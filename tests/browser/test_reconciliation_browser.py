"""The reconciliation page in a real browser, at an office desktop (1366 px) and on a phone (390 px): the lists,
a settlement file uploaded and its report, in English and Hindi."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import update

from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.payments.gateways.sandbox import SandboxGateway
from app.payments.models import Payment, PaymentEvent, PaymentMethod, PaymentState
from app.payments.services import new_reference
from tests import factories
from tests.browser.conftest import new_context
from tests.browser.test_sign_in_flow import no_horizontal_scroll
from tests.browser.test_staff_pages import DESKTOP, SUPERVISOR_PHONE, staff_sign_in

SHOTS = Path(os.environ.get("DTECH_RECONCILE_SHOTS", "/tmp/shots-reconcile"))


def payment(account, state, method=PaymentMethod.UPI, amount="500.00", **fields) -> Payment:
    yesterday = utcnow() - timedelta(days=1)
    row = Payment(account_id=account.id, amount=Decimal(amount), method=method, state=state,
                  reference=new_reference(), gateway="sandbox", refunded_amount=Decimal(0), created_at=yesterday,
                  captured_at=yesterday if state == PaymentState.CAPTURED else None, **fields)
    db.session.add(row)
    return row


def month_of_trouble():
    account = factories.make_account(consumer_number="170000000201", holder_name="Asha Kulkarni")
    payment(account, PaymentState.PENDING)
    payment(account, PaymentState.HELD, method=PaymentMethod.GATEWAY, received_amount=Decimal("450.00"),
            failure_reason="the gateway received INR 450.00 for an order of INR 500.00")
    payment(account, PaymentState.CAPTURED, instrument_number="431112345678", amount="1234.50")
    payment(account, PaymentState.CAPTURED, method=PaymentMethod.GATEWAY, gateway_payment_id="pay_DIFF00000001",
            amount="800.00")
    payment(account, PaymentState.CAPTURED, instrument_number="431199999999", amount="99.00")
    entity = {"id": "pay_NOTOURS0001", "entity": "payment", "amount": 50000, "currency": "INR", "status": "captured",
              "order_id": "order_NOTOURS0001", "method": "upi", "notes": {}, "created_at": 1}
    db.session.add(PaymentEvent(gateway="sandbox", event_id="evt_unmatched_1", event_type="payment.captured",
                                payload=SandboxGateway.event_body("payment.captured", {"payment": entity}).decode(),
                                outcome="waiting: not matched yet"))
    db.session.commit()


SETTLEMENT = ("\ufeffSettlement Date,UTR No.,Amount (INR)\n17/11/2026,431112345678,\"1,234.50\"\n"
              "2026-11-17,pay_DIFF00000001,750\n17/11/2026,431177777777,10.00\n")


def test_reconciliation_at_a_desk_and_on_a_phone(browser, live_server, csrf_on, screenshot, tmp_path):
    month_of_trouble()
    file = tmp_path / "hdfc-17-11.csv"
    file.write_text(SETTLEMENT, encoding="utf-8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = new_context(browser, live_server, viewport=DESKTOP, service_workers="block")
    page = context.new_page()
    try:
        staff = factories.make_user(role="billing", email="billing-desk@example.com", name="Desk")
        db.session.commit()
        staff_sign_in(page, staff=staff)
        page.get_by_role("link", name="Reconciliation").click()
        expect(page.get_by_role("heading", name="Pending too long (1)")).to_be_visible()
        expect(page.get_by_role("heading", name="Amount differs (held) (1)")).to_be_visible()
        expect(page.get_by_text("pay_NOTOURS0001 · order_NOTOURS0001")).to_be_visible()
        page.screenshot(path=str(SHOTS / "reconciliation-1366.png"), full_page=True)
        page.get_by_label("Settlement file (CSV: date, UTR or gateway id, amount)").set_input_files(str(file))
        page.get_by_role("button", name="Upload and match").click()
        expect(page.get_by_role("heading", name="hdfc-17-11.csv")).to_be_visible()
        expect(page.locator("#count-matched dd")).to_have_text("1")
        expect(page.locator("#count-amount_differs dd")).to_have_text("1")
        expect(page.locator("#count-not_ours dd")).to_have_text("1")
        expect(page.locator("#count-missing dd")).to_have_text("1")
        page.screenshot(path=str(SHOTS / "settlement-1366.png"), full_page=True)
        page.get_by_label("What you found").first.fill("Another biller's credit; told the bank")
        page.get_by_role("button", name="Mark as investigated").first.click()
        expect(page.get_by_text("Marked as investigated.")).to_be_visible()
        report = page.url.split("#")[0]

        page.set_viewport_size(SUPERVISOR_PHONE)
        page.goto(report)
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(SHOTS / "settlement-390.png"), full_page=True)
        page.goto("/staff/reconciliation")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(SHOTS / "reconciliation-390.png"), full_page=True)
        db.session.rollback()  # end this session's read snapshot: the server has written since
        db.session.execute(update(User).where(User.id == staff.id).values(locale="hi_IN"))
        db.session.commit()  # the language a person chose is kept on their account
        page.goto("/staff/reconciliation")
        expect(page.get_by_role("heading", name="मिलान", exact=True)).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(SHOTS / "reconciliation-390-hi.png"), full_page=True)
        page.goto(report)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SHOTS / "settlement-1366-hi.png"), full_page=True)
    finally:
        context.close()
