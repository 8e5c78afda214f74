"""Cheques and drafts are "received, clearing" until staff mark them cleared or returned (issue 9, point 20), and
the counter form asks the cashier to check whose bill it is before it records anything."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditLog
from app.billing import ledger
from app.billing.bills import bill_status
from app.billing.models import BillStatus, LedgerKind
from app.db import today_in_india
from app.extensions import db
from app.payments import services
from app.payments.models import Payment, PaymentMethod, PaymentState
from tests import factories
from tests.functional.test_payment_helpers import billed_account, ledger_entries
from tests.functional.test_payment_receipts import pdf_text

CHEQUE = PaymentMethod.CHEQUE


def key(n: int = 0) -> str:
    return f"clearing-test-key-{n:04d}"


@pytest.fixture
def cheque_paid(client, login_as):
    """A customer whose ₹800 bill is met by a cheque taken at the counter (not cleared yet)."""
    customer = login_as("customer")
    account, bill = billed_account(customer, "800.00", terms={"due_days": 15})
    cashier = factories.make_user(role="support")
    payment = services.record_counter_payment(account.id, CHEQUE, Decimal("800.00"), cashier, key(1), "246810",
                                              "SBI Aundh", instrument_micr="411002019")
    db.session.commit()
    return customer, account, bill, payment, cashier


def test_a_cheque_is_credited_subject_to_clearing_not_paid(cheque_paid):
    """Regression: a cheque showed "Paid" the moment it was recorded."""
    _customer, account, bill, payment, _cashier = cheque_paid
    assert payment.state == PaymentState.CLEARING and payment.receipt_number
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.PAYMENT)] == [Decimal("-800.00")]
    assert ledger.balance(account.id) == Decimal("0.00")
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.CLEARING


def test_customer_pages_say_received_clearing_in_english_and_hindi(client, cheque_paid):
    customer, _account, bill, payment, _cashier = cheque_paid
    pages = {path: client.get(path).get_data(as_text=True) for path in (
        "/", "/bills", f"/bills/{bill.id}", "/payments", f"/payments/{payment.id}", f"/payments/{payment.id}/receipt")}
    assert "Cheque received, clearing" in pages["/"] and "246810" in pages["/"]
    assert 'chip-paid">Paid' not in pages["/"]
    assert "Cheque received, clearing" in pages["/bills"]
    assert "is clearing" in pages[f"/bills/{bill.id}"]
    assert "Received, clearing" in pages["/payments"]
    assert "counts as paid once the bank clears it" in pages[f"/payments/{payment.id}"]
    assert "Received subject to clearing" in pages[f"/payments/{payment.id}/receipt"]
    assert "subject to clearing" in pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data)
    customer.locale = "hi_IN"
    db.session.commit()
    assert "चेक प्राप्त, क्लियरिंग में" in client.get("/").get_data(as_text=True)
    assert "प्राप्त, क्लियरिंग में" in client.get("/payments").get_data(as_text=True)


def test_staff_mark_it_cleared_and_then_it_is_paid(client, cheque_paid):
    _customer, account, bill, payment, cashier = cheque_paid
    staff = factories.make_user(role="support", email="clearing@example.com")
    db.session.commit()
    client.post("/logout")
    client.post("/login", data={"login": staff.email, "password": factories.PASSWORD})
    waiting = client.get("/staff/payments").get_data(as_text=True)
    assert payment.reference in waiting or payment.receipt_number in waiting  # listed for a person to act on
    page = client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert "Received, clearing" in page and "Mark as cleared" in page and "Mark as returned unpaid" in page
    assert "Propose the refund" not in page  # a cheque that may still bounce is not refunded
    done = client.post(f"/staff/payments/{payment.id}/cleared", follow_redirects=True).get_data(as_text=True)
    assert "Marked as cleared" in done
    db.session.expire_all()
    payment = db.session.get(Payment, payment.id)
    assert payment.state == PaymentState.CAPTURED
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.PAID
    assert len(ledger_entries(account.id)) == 2  # the ledger did not move: bill and payment
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "payment.cleared"))
    assert audit.actor_id == staff.id
    services.clear_instrument(payment.id, staff)  # again: nothing changes
    assert payment.state == PaymentState.CAPTURED and len(ledger_entries(account.id)) == 2


def test_only_a_clearing_instrument_is_cleared_and_it_is_not_refunded_while_clearing(cheque_paid):
    _customer, account, _bill, payment, cashier = cheque_paid
    admin = factories.make_user(role="admin")
    with pytest.raises(services.RefundError, match="clearing payment cannot be refunded"):
        services.refund_payment(payment.id, Decimal("10.00"), "Overpaid", admin, key(2))
    cash = services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("10.00"), cashier, key(3))
    with pytest.raises(services.PaymentError) as refused:
        services.clear_instrument(cash.id, cashier)
    assert refused.value.code == "clear_not_clearing"


def test_a_clearing_cheque_that_bounces_makes_the_bill_due_again(app, cheque_paid, monkeypatch):
    monkeypatch.setitem(app.config, "CHEQUE_BOUNCE_CHARGE", Decimal("100"))
    _customer, account, bill, payment, cashier = cheque_paid
    services.bounce_instrument(payment.id, "Funds insufficient", cashier)
    db.session.commit()
    assert payment.state == PaymentState.BOUNCED and ledger.balance(account.id) == Decimal("900.00")
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) is BillStatus.DUE


def test_the_customer_is_told_their_cheque_came_back_once(app, cheque_paid, monkeypatch):
    from app.notifications.models import Notification

    monkeypatch.setitem(app.config, "CHEQUE_BOUNCE_CHARGE", Decimal("100"))
    customer, account, _bill, payment, cashier = cheque_paid
    services.bounce_instrument(payment.id, "Funds insufficient", cashier)
    services.bounce_instrument(payment.id, "Funds insufficient", cashier)  # twice: nothing more
    db.session.commit()
    (notice,) = db.session.scalars(select(Notification).where(Notification.title == "Payment returned by the bank"))
    assert notice.user_id == customer.id and notice.url == f"/payments/{payment.id}"
    assert notice.body == (f"The bank returned your cheque of ₹800.00 (receipt {payment.receipt_number}) for "
                           f"connection ending {account.consumer_number[-4:]}, so it is not paid: please pay the bill "
                           "again in the app. A charge of ₹100.00 for the returned payment is added.")


# --- the counter's confirmation step ---


def counter_form(client, consumer_number: str) -> dict:
    html = client.get(f"/staff/payments/counter?consumer_number={consumer_number}").get_data(as_text=True)
    token = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html).group(1)
    return {"consumer_number": consumer_number, "method": "cash", "amount": "500", "idempotency_key": token}


def test_the_counter_shows_whose_bill_it_is_before_recording(client, login_as):
    """Regression: a mistyped consumer number paid someone else's bill with no confirmation step."""
    account, _bill = billed_account(total="1234.50", terms={"due_days": 15})
    login_as("support")
    form = counter_form(client, account.consumer_number)
    check = client.post("/staff/payments/counter", data=form)
    html = check.get_data(as_text=True)
    assert check.status_code == 200 and "Check before recording" in html
    assert account.holder_name in html and "Test Nagar" in html
    assert "₹1,234.50" in html and "₹500.00" in html  # the amount due and the amount being taken
    assert 'name="confirmed" type="hidden" value="yes"' in html and 'name="change" value="1"' in html
    assert db.session.scalars(select(Payment)).all() == []  # nothing recorded yet

    changed = client.post("/staff/payments/counter", data={**form, "confirmed": "yes", "change": "1"})
    assert changed.status_code == 200 and "Record a counter payment" in changed.get_data(as_text=True)
    assert db.session.scalars(select(Payment)).all() == []

    confirmed = {**form, "confirmed": "yes"}
    first = client.post("/staff/payments/counter", data=confirmed)
    second = client.post("/staff/payments/counter", data=confirmed)  # a double click on Confirm
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(Payment)).all()) == 1


def test_a_refusal_after_confirming_goes_back_to_the_form(client, login_as):
    account, _bill = billed_account(total="100.00", terms={"due_days": 15})
    login_as("support")
    form = {**counter_form(client, account.consumer_number), "method": "cheque", "instrument_number": "12",
            "instrument_bank": "SBI", "instrument_micr": "411002003", "confirmed": "yes"}
    refused = client.post("/staff/payments/counter", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "six-digit" in html
    assert 'name="confirmed" type="hidden" value=""' in html  # the next submit shows the check page again


def test_the_confirmation_page_carries_the_csrf_token(app, client, login_as):
    account, _bill = billed_account(total="100.00", terms={"due_days": 15})
    login_as("support")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = client.get(f"/staff/payments/counter?consumer_number={account.consumer_number}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        form = {**counter_form(client, account.consumer_number), "csrf_token": token}
        check = client.post("/staff/payments/counter", data=form).get_data(as_text=True)
        assert 'name="csrf_token"' in check
        assert client.post("/staff/payments/counter", data={**form, "confirmed": "yes", "csrf_token": ""}
                           ).status_code == 400
        assert client.post("/staff/payments/counter", data={**form, "confirmed": "yes"}).status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_cheque_recorded_before_is_refused_before_the_confirmation_page(client, login_as):
    """Regression (review): the cashier learnt of the repeated cheque only after pressing Confirm."""
    account, _bill = billed_account(total="1234.50", terms={"due_days": 15})
    login_as("support")
    cheque = {"method": "cheque", "instrument_number": "000123", "instrument_bank": "HDFC Bank",
              "instrument_micr": "411240005"}
    first = {**counter_form(client, account.consumer_number), **cheque, "confirmed": "yes"}
    assert client.post("/staff/payments/counter", data=first).status_code == 303
    again = client.post("/staff/payments/counter", data={**counter_form(client, account.consumer_number), **cheque})
    html = again.get_data(as_text=True)
    assert again.status_code == 422 and "Check before recording" not in html
    assert "000123" in html and "already" in html
    assert len(db.session.scalars(select(Payment)).all()) == 1


def test_the_same_cheque_on_another_connection_is_refused_at_the_cheque_number(client, login_as):
    """Issue 12 review: the same cheque could be recorded on two connections, or with the bank named otherwise."""
    account, _bill = billed_account(total="1234.50", terms={"due_days": 15})
    other, _ = billed_account(total="500.00", terms={"due_days": 15})
    login_as("support")
    cheque = {"method": "cheque", "instrument_number": "000456", "instrument_bank": "SBI Aundh",
              "instrument_micr": "411002019"}
    first = {**counter_form(client, account.consumer_number), **cheque, "confirmed": "yes"}
    assert client.post("/staff/payments/counter", data=first).status_code == 303
    again = client.post("/staff/payments/counter", data={
        **counter_form(client, other.consumer_number), **cheque, "instrument_bank": "State Bank of India",
        "instrument_micr": "411 002 019"})
    html = again.get_data(as_text=True)
    assert again.status_code == 422 and "Check before recording" not in html
    errors = re.search(r'<ul class="errors" id="instrument_number-errors">(.*?)</ul>', html, re.S).group(1)
    assert "000456" in errors and "411002019" in errors and "cannot be recorded twice" in errors
    assert len(db.session.scalars(select(Payment)).all()) == 1


def test_a_card_payment_at_the_counter(client, login_as):
    account, _bill = billed_account(total="1500.00", terms={"due_days": 15})
    cashier = login_as("support")
    card = {"method": "card", "card_approval_code": "a1b2c3", "card_last4": "4242", "amount": "1500"}
    check = client.post("/staff/payments/counter", data={**counter_form(client, account.consumer_number), **card})
    html = check.get_data(as_text=True)
    assert check.status_code == 200 and "Check before recording" in html and "card ending 4242" in html
    done = client.post("/staff/payments/counter", data={**counter_form(client, account.consumer_number), **card,
                                                        "confirmed": "yes"})
    assert done.status_code == 303
    (payment,) = db.session.scalars(select(Payment)).all()
    assert (payment.method.value, payment.state, payment.instrument_number, payment.card_last4) == (
        "card", PaymentState.CAPTURED, "A1B2C3", "4242")
    book = client.get("/staff/cash-book").get_data(as_text=True)
    assert "Cards (settled by the acquirer, not deposited)" in book and "Card ending 4242, approval A1B2C3" in book
    assert "Card card" not in book  # the method is named once
    assert payment.recorded_by_id == cashier.id


def test_a_full_card_number_is_refused_and_not_sent_back(client, login_as):
    account, _bill = billed_account(total="1500.00", terms={"due_days": 15})
    login_as("support")
    card = {"method": "card", "card_approval_code": "A1B2C3", "card_last4": "4111 1111 1111 1111"}
    refused = client.post("/staff/payments/counter", data={**counter_form(client, account.consumer_number), **card})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Never type the full card number" in html
    assert "4111" not in html and "A1B2C3" not in html  # neither field comes back filled
    assert db.session.scalars(select(Payment)).all() == []


def test_a_returned_cheques_receipt_says_returned_unpaid_not_payment_received(client, cheque_paid):
    customer, _account, _bill, payment, cashier = cheque_paid
    services.bounce_instrument(payment.id, "Funds insufficient", cashier)
    db.session.commit()
    page = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "Cheque returned unpaid" in page and "Payment received" not in page
    assert "Received on" in page and "Paid on" not in page
    assert "before it was returned" in page
    pdf = pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data)
    assert "Cheque returned unpaid" in pdf and "before it was returned" in pdf and "Paid on" not in pdf
    customer.locale = "hi_IN"
    db.session.commit()
    assert "चेक बिना भुगतान लौटा" in client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)


def test_a_cleared_cheques_receipt_still_says_payment_received(client, cheque_paid):
    _customer, _account, _bill, payment, _cashier = cheque_paid
    page = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "Payment received" in page and "Paid on" in page and "returned unpaid" not in page
