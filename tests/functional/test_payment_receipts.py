"""Receipts (page and PDF in English and Hindi), the payment history, and who may see which payment."""

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.billing.bills import cancel_bill
from app.billing.models import Bill
from app.extensions import db
from app.payments import services
from app.payments.models import Payment, PaymentMethod, PaymentState
from tests import factories
from tests.functional.test_payment_helpers import attempt_with_order, billed_account, pay_in_full
from tests.unit.test_bill_pdf import hindi_text, squeeze_lines, squeezed


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_receipt_page_and_pdfs_in_english_and_hindi(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "1234.50", terms={"due_days": 15})
    payment, _ = pay_in_full(client)
    page = client.get(f"/payments/{payment.id}/receipt")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and payment.receipt_number in html and "₹1,234.50" in html
    assert account.consumer_number in html and payment.gateway_payment_id in html

    english = client.get(f"/payments/{payment.id}/receipt.pdf")
    assert english.headers["Content-Type"] == "application/pdf"
    assert f'{payment.receipt_number}-en.pdf' in english.headers["Content-Disposition"]
    text = pdf_text(english.data)
    assert "Payment receipt" in text and payment.receipt_number in text and "₹1,234.50" in text
    assert account.consumer_number in text and "Credited to your account" in text

    hindi = pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf?lang=hi").data)
    assert "भुगतान रसीद" in hindi and payment.receipt_number in hindi and "₹1,234.50" in hindi
    assert len(PdfReader(io.BytesIO(english.data)).pages) == 1


def test_a_refunded_receipt_says_so(client, login_as):
    user = login_as("customer")
    billed_account(user, "100.00", terms={"due_days": 15})
    payment, _ = pay_in_full(client)
    staff = factories.make_user(role="admin")
    services.refund_payment(payment.id, Decimal("100.00"), "Duplicate", staff, "receipt-refund-key-01")
    db.session.commit()
    text = pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data)
    assert "REFUNDED" in text and "Refunded" in text


def test_no_receipt_before_the_money_is_confirmed(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "100.00", terms={"due_days": 15})
    payment, _order = attempt_with_order(account, "100.00", user=user)
    assert client.get(f"/payments/{payment.id}").status_code == 200
    assert client.get(f"/payments/{payment.id}/receipt").status_code == 404
    assert client.get(f"/payments/{payment.id}/receipt.pdf").status_code == 404


def test_someone_elses_payment_looks_like_no_payment(app, client, login_as):
    owner = factories.make_user()
    account, _ = billed_account(owner, "100.00", terms={"due_days": 15})
    staff = factories.make_user(role="support")
    paid = services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("100.00"), staff,
                                           "receipt-test-key-0001")
    pending, _ = attempt_with_order(account, "50.00", state=PaymentState.CREATED, user=owner)
    db.session.commit()
    login_as("customer")  # a customer not linked to that connection
    for url in (f"/payments/{paid.id}", f"/payments/{paid.id}/receipt", f"/payments/{paid.id}/receipt.pdf",
                f"/payments/{pending.id}", "/payments/999999", "/payments/999999/receipt"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/payments/{pending.id}/checkout").status_code == 404
    # Another person linked to the same connection (family) may see it; so may staff.
    family = factories.make_user()
    factories.link(family, account)
    db.session.commit()
    other = app.test_client()
    other.post("/login", data={"login": family.mobile, "password": factories.PASSWORD})
    assert other.get(f"/payments/{paid.id}/receipt").status_code == 200
    support = app.test_client()
    support.post("/login", data={"login": staff.mobile, "password": factories.PASSWORD})
    assert support.get(f"/payments/{paid.id}/receipt").status_code == 200
    assert support.get(f"/staff/payments/{paid.id}").status_code == 200


def test_history_is_for_the_selected_connection_and_paginated(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "100.00", terms={"due_days": 15})
    other, _ = billed_account(user, "100.00", terms={"due_days": 15})
    staff = factories.make_user(role="support")
    for n in range(23):
        services.record_counter_payment(account.id, PaymentMethod.CHEQUE, Decimal("10.00") + n, staff,
                                        f"history-test-key-{n:04d}", f"{123456 + n}", "SBI",
                                        instrument_micr="411002003")
    services.record_counter_payment(other.id, PaymentMethod.CASH, Decimal("77.00"), staff, "history-other-key-01")
    db.session.commit()
    first = client.get("/payments").get_data(as_text=True)
    assert first.count('class="row payment-row"') == 20 and "₹77.00" not in first
    assert 'href="/payments?page=2"' in first and "₹32.00" in first  # newest first
    second = client.get("/payments?page=2").get_data(as_text=True)
    assert second.count('class="row payment-row"') == 3 and "?page=3" not in second
    assert client.get("/payments?page=3").status_code == 404
    assert client.get("/payments?page=0").status_code == 404
    client.post(f"/connections/{other.id}/select")
    assert "₹77.00" in client.get("/payments").get_data(as_text=True)


@pytest.mark.parametrize("state", list(PaymentState))
def test_the_payment_page_explains_every_state(client, login_as, state):
    user = login_as("customer")
    account, _ = billed_account(user, "100.00", terms={"due_days": 15})
    payment, _ = attempt_with_order(account, "100.00", state=state, user=user)
    if state in (PaymentState.CAPTURED, PaymentState.REFUNDED, PaymentState.BOUNCED, PaymentState.CLEARING):
        payment.receipt_number = f"RCP{payment.id:09d}"
    if state == PaymentState.HELD:
        payment.received_amount = Decimal("99.00")
    db.session.commit()
    html = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    expected = {"created": "You have not finished", "pending": "Pending confirmation", "captured": "See the receipt",
                "failed": "did not go through", "refunded": "See the receipt", "held": "staff check",
                "bounced": "returned this cheque", "clearing": "counts as paid once the bank clears it"}[state.value]
    assert expected in html


def test_a_customer_can_continue_an_unfinished_checkout(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "100.00", terms={"due_days": 15})
    payment, order_id = attempt_with_order(account, "100.00", state=PaymentState.CREATED, user=user)
    response = client.post(f"/payments/{payment.id}/checkout")
    assert response.status_code == 303 and response.headers["Location"].startswith(
        f"/sandbox-gateway/checkout/{order_id}")
    assert db.session.scalar(select(Payment)).gateway_order_id == order_id  # the same order, not a new one


def test_lists_show_the_day_a_payment_was_made_not_the_day_its_record_was_written(client, login_as, clock):
    from datetime import UTC, datetime

    user = login_as("customer")
    account, _ = billed_account(user, "500.00", terms={"due_days": 15})
    made = datetime(2026, 9, 3, 5, 0, tzinfo=UTC)  # received at the counter on 3 Sep, entered today
    db.session.add(Payment(account_id=account.id, amount=Decimal("500.00"), method=PaymentMethod.CASH,
                           state=PaymentState.CAPTURED, reference="LATEENTRY01", receipt_number="RCLATE01",
                           captured_at=made))
    db.session.commit()
    page = client.get("/payments").get_data(as_text=True)
    assert "3 Sept 2026" in page and "18 Nov 2026" not in page
    client.post("/logout")
    login_as("support")
    staff_page = client.get(f"/staff/payments?consumer_number={account.consumer_number}").get_data(as_text=True)
    assert "3 Sept 2026" in staff_page and "18 Nov 2026" not in staff_page


# --- what a receipt says about the money: the bills it paid, the balance after it, the amount in words ---


def two_unpaid_bills(user):
    """September's bill (₹1,000) unpaid, then October's (₹1,500 of charges, ₹2,500 due in all)."""
    from tests.functional.test_payment_helpers import tariff_with_terms

    account = factories.make_account(tariff_with_terms({"due_days": 15}))
    factories.make_bill(account, "1000.00", period_start=date(2026, 8, 25), period_end=date(2026, 9, 24),
                        issued_on=date(2026, 9, 26), due_date=date(2026, 10, 11), number="DT-2026-09-0000001")
    factories.make_bill(account, "1500.00", period_start=date(2026, 9, 25), period_end=date(2026, 10, 24),
                        issued_on=date(2026, 10, 26), due_date=date(2026, 11, 10), number="DT-2026-10-0000001")
    factories.link(user, account)
    db.session.commit()
    return account


def counter_payment(account, amount: str, key: str) -> Payment:
    staff = factories.make_user(role="support")
    payment = services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal(amount), staff, key)
    db.session.commit()
    return payment


def test_a_receipt_names_the_bills_it_paid_and_the_balance_after_it(client, login_as):
    account = two_unpaid_bills(login_as("customer"))
    payment = counter_payment(account, "2500.00", "receipt-bills-key-0001")

    html = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "Paid towards" in html
    assert "Bill DT-2026-09-0000001 (25 Aug 2026 – 24 Sept 2026)" in html
    assert "Bill DT-2026-10-0000001 (25 Sept 2026 – 24 Oct 2026)" in html
    assert "Balance after this payment" in html and "Nothing due" in html
    assert "Rupees Two Thousand Five Hundred Only" in html

    text = squeeze_lines(pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data))
    assert "Bill DT-2026-09-0000001 (25 Aug 2026 – 24 Sept 2026)" in text
    assert "Bill DT-2026-10-0000001" in text
    assert "Balance after this payment Nothing due" in text
    assert "Amount in words Rupees Two Thousand Five Hundred Only" in text


def test_a_part_payment_goes_to_the_oldest_bill_and_leaves_the_rest_due(client, login_as):
    account = two_unpaid_bills(login_as("customer"))
    payment = counter_payment(account, "800.50", "receipt-bills-key-0002")

    text = squeeze_lines(pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data))
    assert "Bill DT-2026-09-0000001" in text and "DT-2026-10-0000001" not in text
    assert "₹1,699.50 still due" in text
    assert "Rupees Eight Hundred and Fifty Paise Only" in text
    # A second payment clears what is left of September's bill and then October's.
    second = counter_payment(account, "1699.50", "receipt-bills-key-0003")
    html = client.get(f"/payments/{second.id}/receipt").get_data(as_text=True)
    assert "DT-2026-09-0000001" in html and "DT-2026-10-0000001" in html and "Nothing due" in html
    # The first receipt still says what it said: the ledger is read up to its own payment.
    again = squeeze_lines(pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data))
    assert "₹1,699.50 still due" in again


def test_a_receipt_names_the_bills_as_they_stood_when_it_was_paid(client, login_as):
    """Regression (review): a bill cancelled or revised after the payment changed what old receipts named."""
    account = two_unpaid_bills(login_as("customer"))
    payment = counter_payment(account, "2500.00", "receipt-bills-key-0012")  # pays September and October
    october = db.session.scalar(select(Bill).where(Bill.number == "DT-2026-10-0000001"))
    cancel_bill(october, "Meter read wrongly", actor=None)
    db.session.commit()
    html = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    assert "DT-2026-09-0000001" in html and "DT-2026-10-0000001" in html


def test_a_payment_with_nothing_owed_is_an_advance_in_credit(client, login_as):
    user = login_as("customer")
    account = two_unpaid_bills(user)
    counter_payment(account, "2500.00", "receipt-bills-key-0004")
    advance = counter_payment(account, "500.00", "receipt-bills-key-0005")

    html = client.get(f"/payments/{advance.id}/receipt").get_data(as_text=True)
    assert "Advance: no bill was due" in html and "₹500.00 in credit" in html
    assert "DT-2026-10-0000001" not in html


def test_the_hindi_receipt_speaks_hindi_from_the_catalogue(client, login_as):
    account = two_unpaid_bills(login_as("customer"))
    payment = counter_payment(account, "2500.00", "receipt-bills-key-0006")

    text = squeezed(hindi_text(client.get(f"/payments/{payment.id}/receipt.pdf?lang=hi").data))
    for words in ("भुगतान रसीद", "राशि शब्दों में", "दो हज़ार पाँच सौ रुपये मात्र", "किस बिल के लिए",
                  "बिल DT-2026-09-0000001", "इस भुगतान के बाद शेष", "कुछ देय नहीं", "नकद", "भुगतान की तिथि"):
        assert squeezed(words) in text, words
    assert "Paid towards" not in text and "Receipt number" not in text
    # The page too, in Hindi.
    client.post("/language", data={"language": "hi_IN", "next": "/"})
    html = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    for words in ("दो हज़ार पाँच सौ रुपये मात्र", "किस बिल के लिए", "इस भुगतान के बाद शेष", "कुछ देय नहीं"):
        assert words in html, words


def test_the_receipt_pdf_has_no_hindi_of_its_own():
    """Its Hindi was once written into the code; now every word comes from the catalogue, like the bill's."""
    source = (Path(__file__).resolve().parents[2] / "app" / "payments" / "receipts.py").read_text()
    assert not re.search("[\u0900-\u097f]", source)
