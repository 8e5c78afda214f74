"""Staff's payment search at /staff/payments: each filter, the office's connections only, pages, and bad input
answered with a message (never a server error)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.extensions import db
from app.payments.models import Payment, PaymentMethod, PaymentState
from tests import factories

CASH, CHEQUE, UPI, GATEWAY = PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.UPI, PaymentMethod.GATEWAY


def made(account, reference: str, method=CASH, state=PaymentState.CAPTURED, when=datetime(2026, 11, 10, 6, 0,
                                                                                          tzinfo=UTC), **fields):
    payment = Payment(account_id=account.id, amount=Decimal("100.00"), method=method, state=state,
                      reference=reference, created_at=when,
                      captured_at=when if state in (PaymentState.CAPTURED, PaymentState.CLEARING) else None, **fields)
    db.session.add(payment)
    return payment


@pytest.fixture
def payments():
    """Payments of a Pune connection (two) and a Mumbai one, of every kind the filters tell apart."""
    pune = factories.make_account(region="Pune", consumer_number="170000000001")
    pune_2 = factories.make_account(region="Pune", consumer_number="170000000002")
    mumbai = factories.make_account(region="Mumbai", consumer_number="170000000009")
    made(pune, "REFCASH0001", receipt_number="RCP000000101")
    made(pune, "REFCHEQUE01", CHEQUE, PaymentState.CLEARING, instrument_number="112233", instrument_bank="SBI",
         receipt_number="RCP000000102", when=datetime(2026, 11, 12, 6, 0, tzinfo=UTC))
    made(pune_2, "REFUPI00001", UPI, instrument_number="401234567890", receipt_number="RCP000000103",
         when=datetime(2026, 11, 14, 6, 0, tzinfo=UTC))
    made(pune_2, "REFONLINE01", GATEWAY, PaymentState.FAILED, gateway="sandbox", gateway_order_id="order_ABC123",
         gateway_payment_id="pay_XYZ789", when=datetime(2026, 11, 15, 20, 0, tzinfo=UTC))  # 16 Nov in India
    made(pune_2, "REFHELD0001", GATEWAY, PaymentState.HELD, gateway="sandbox", gateway_order_id="order_HELD1",
         when=datetime(2026, 11, 16, 6, 0, tzinfo=UTC))
    made(mumbai, "REFMUMBAI01", receipt_number="RCP000000109", instrument_number="401234567899")
    db.session.commit()


def found(client, query: str = "", status: int = 200) -> str:
    response = client.get(f"/staff/payments?{query}")
    assert response.status_code == status, (query, response.status_code)
    return response.get_data(as_text=True)


def references(html: str) -> set[str]:
    """The payments listed (in the results table, not the filter form's fields)."""
    html = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return {ref for ref in ("REFCASH0001", "REFCHEQUE01", "RCP000000101", "RCP000000102", "RCP000000103",
                            "REFONLINE01", "REFHELD0001", "RCP000000109") if ref in html}


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"RCP000000101", "RCP000000102", "RCP000000103", "REFONLINE01", "REFHELD0001", "RCP000000109"}),
    ("consumer_number=170000000002", {"RCP000000103", "REFONLINE01", "REFHELD0001"}),
    ("receipt_number=rcp000000102", {"RCP000000102"}),
    ("gateway_id=order_ABC123", {"REFONLINE01"}),
    ("gateway_id=pay_XYZ789", {"REFONLINE01"}),
    ("instrument_number=112233", {"RCP000000102"}),
    ("instrument_number=401234567890", {"RCP000000103"}),
    ("date_from=2026-11-12&date_to=2026-11-14", {"RCP000000102", "RCP000000103"}),
    ("date_from=2026-11-16", {"REFONLINE01", "REFHELD0001"}),  # 20:00 UTC on the 15th is the 16th in India
    ("date_to=2026-11-10", {"RCP000000101", "RCP000000109"}),
    ("method=gateway", {"REFONLINE01", "REFHELD0001"}),
    ("method=cheque", {"RCP000000102"}),
    ("state=failed", {"REFONLINE01"}),
    ("state=attention", {"RCP000000102", "REFHELD0001"}),
    ("method=cash&consumer_number=170000000001", {"RCP000000101"}),
])
def test_each_filter(client, login_as, payments, query, expected):
    login_as("support")  # head office: every connection
    assert references(found(client, query)) == expected


def test_staff_of_an_office_see_its_connections_payments_only(client, login_as, payments):
    login_as("billing", office="Mumbai")
    assert references(found(client)) == {"RCP000000109"}
    assert references(found(client, "receipt_number=RCP000000101")) == set()
    assert references(found(client, "instrument_number=401234567890")) == set()
    other_office = found(client, "consumer_number=170000000001", status=400)
    assert "There is no connection with this number." in other_office and "REFCASH0001" not in other_office
    assert "Only the payments of the Mumbai office" in found(client)


@pytest.mark.parametrize(("query", "message"), [
    ("date_from=2026-11-14&date_to=2026-11-12", "The end date is before the start date."),
    ("date_from=14/11/2026", "Enter a date as year-month-day, like 2026-11-18."),
    ("date_to=2026-02-30", "Enter a date as year-month-day"),
    ("method=bitcoin", "Choose one of the listed options."),
    ("state=lost", "Choose one of the listed options."),
    ("receipt_number=" + "9" * 40, "Use at most 24 characters."),
])
def test_bad_input_is_answered_with_a_message_and_kept(client, login_as, payments, query, message):
    login_as("support")
    html = found(client, query, status=400)
    assert message in html and "Please correct the marked fields." in html
    assert references(html) == set()  # no results under a form that was not understood
    name, typed = query.split("&")[-1].split("=", 1)
    if not name.startswith(("method", "state")):  # what was typed stays in its field (a select has no such value)
        assert f'value="{typed}"' in html


def test_results_come_in_pages_keeping_the_filters(client, login_as):
    account = factories.make_account(consumer_number="170000000077")
    for n in range(30):
        made(account, f"PAGED{n:06d}", receipt_number=f"RCP{n:09d}",
             when=datetime(2026, 11, 1, 6, n, tzinfo=UTC))
    db.session.commit()
    login_as("support")
    first = found(client, "consumer_number=170000000077&method=cash")
    assert first.count("RCP0000000") == 25 and "RCP000000029" in first and "RCP000000004" not in first
    assert "page=2" in first and "consumer_number=170000000077" in first
    second = found(client, "consumer_number=170000000077&method=cash&page=2")
    assert "RCP000000004" in second and "RCP000000029" not in second
    assert client.get("/staff/payments?page=9").status_code == 404
    assert client.get("/staff/payments?page=x").status_code == 404


def test_a_counter_payment_shows_its_cashier_and_centre(client, login_as):
    from app.payments import services
    from tests.functional.test_payment_helpers import billed_account

    account, _ = billed_account(total="100.00")
    cashier = factories.make_user(role="support", office="Pune", name="Ravi Patil")
    payment = services.record_counter_payment(account.id, CASH, Decimal("100.00"), cashier, "search-test-key-0001")
    db.session.commit()
    login_as("admin")
    assert "Ravi Patil · Pune" in found(client, f"consumer_number={account.consumer_number}")
    page = client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert "Received by" in page and "Ravi Patil · Pune" in page
    assert f"/staff/cash-books/{payment.cash_book_id}" in page
