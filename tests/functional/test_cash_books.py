"""The cashier's day: counter payments are entries in the cashier's cash book of the day; the cashier closes it with
the cash counted, a supervisor (someone else) accepts it, its deposit slip lists what goes to the bank, and a closed
day takes no more entries. Receipts of counter payments name the cashier and the collection centre."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditLog
from app.db import today_in_india
from app.extensions import db
from app.payments import cash_books, services
from app.payments.models import CashBook, CashBookState, Payment, PaymentMethod
from tests import factories
from tests.functional.test_payment_helpers import billed_account
from tests.unit.test_bill_pdf import hindi_text, squeezed

CASH, CHEQUE, DRAFT = PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT


def key(n: int) -> str:
    return f"cash-book-test-key-{n:04d}"


@pytest.fixture
def cashier():
    user = factories.make_user(role="support", office="Pune", name="Asha Kulkarni", email="asha@example.com")
    db.session.commit()
    return user


def a_day_of_collections(cashier) -> CashBook:
    """Two cash payments, a cheque and a draft taken by `cashier` today: ₹1,500 cash, ₹2,000 + ₹300 instruments."""
    account, _ = billed_account(total="5000.00", terms={"due_days": 15})
    services.record_counter_payment(account.id, CASH, Decimal("1000.00"), cashier, key(1))
    services.record_counter_payment(account.id, CASH, Decimal("500.00"), cashier, key(2))
    services.record_counter_payment(account.id, CHEQUE, Decimal("2000.00"), cashier, key(3), "123456", "SBI Kothrud",
                                    instrument_micr="411002003")
    services.record_counter_payment(account.id, DRAFT, Decimal("300.00"), cashier, key(4), "654321", "HDFC Aundh",
                                    instrument_micr="411240005")
    db.session.commit()
    return cash_books.todays_book(cashier)


def sign_in(client, user):
    client.post("/logout")
    response = client.post("/login", data={"login": user.email or user.mobile, "password": factories.PASSWORD})
    assert response.status_code == 302


def test_counter_payments_are_entries_of_the_cashiers_day(cashier):
    book = a_day_of_collections(cashier)
    assert (book.day, book.office, book.state) == (today_in_india(), "Pune", CashBookState.OPEN)
    totals = cash_books.totals_of(book.id)
    assert (totals.cash, totals.cheques, totals.drafts, totals.total) == (
        Decimal("1500.00"), Decimal("2000.00"), Decimal("300.00"), Decimal("3800.00"))
    assert (totals.cash_count, totals.cheque_count, totals.draft_count) == (2, 1, 1)
    assert {p.cash_book_id for p in db.session.scalars(select(Payment))} == {book.id}
    # Another cashier's payments go to their own book.
    other = factories.make_user(role="billing", office="Pune")
    account = factories.make_account()
    payment = services.record_counter_payment(account.id, CASH, Decimal("100.00"), other, key(5))
    db.session.commit()
    assert payment.cash_book_id != book.id and cash_books.totals_of(payment.cash_book_id).cash == Decimal("100.00")
    opened = db.session.scalars(select(AuditLog).where(AuditLog.action == "cash_book.opened")).all()
    assert sorted(entry.actor_id for entry in opened) == sorted([cashier.id, other.id])


def test_one_book_per_cashier_and_day_is_a_database_rule(cashier):
    book = a_day_of_collections(cashier)
    db.session.add(CashBook(cashier_id=cashier.id, day=book.day, office="Pune"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_closing_records_the_count_and_a_difference_needs_a_reason(cashier):
    book = a_day_of_collections(cashier)
    with pytest.raises(services.PaymentError, match=r"differs from the cash recorded by ₹10.00: say why"):
        cash_books.close_day(book.id, Decimal("1490.00"), "", cashier)
    with pytest.raises(services.PaymentError, match="rupees and paise"):
        cash_books.close_day(book.id, Decimal("-1"), "", cashier)
    someone_else = factories.make_user(role="admin")
    with pytest.raises(services.PaymentError, match="Only the cashier"):
        cash_books.close_day(book.id, Decimal("1500.00"), "", someone_else)
    cash_books.close_day(book.id, Decimal("1490.00"), "A torn ₹10 note returned", cashier)
    db.session.commit()
    assert book.state == CashBookState.CLOSED
    assert (book.expected_cash, book.counted_cash, book.cash_difference) == (
        Decimal("1500.00"), Decimal("1490.00"), Decimal("-10.00"))
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "cash_book.closed"))
    assert audit.actor_id == cashier.id and audit.details["before"] == {"state": "open"}
    assert audit.details["after"]["counted_cash"] == "1490.00" and audit.details["after"]["cheques"] == "2000.00"
    with pytest.raises(services.PaymentError, match="already closed"):  # closing twice
        cash_books.close_day(book.id, Decimal("1500.00"), "", cashier)


def test_a_closed_day_refuses_a_new_counter_entry(cashier, clock):
    book = a_day_of_collections(cashier)
    cash_books.close_day(book.id, Decimal("1500.00"), None, cashier)
    account = factories.make_account()
    db.session.commit()
    with pytest.raises(services.PaymentError, match="You closed your cash book for today"):
        services.record_counter_payment(account.id, CASH, Decimal("100.00"), cashier, key(10))
    db.session.rollback()
    with pytest.raises(services.PaymentError, match="You closed your cash book for today"):
        services.check_counter_payment(account.id, CASH, Decimal("100.00"), None, None, cashier=cashier)
    assert cash_books.totals_of(book.id).count == 4
    # The next day is a new book.
    clock.move_to(datetime(2026, 11, 19, 4, 0, tzinfo=UTC))
    payment = services.record_counter_payment(account.id, CASH, Decimal("100.00"), cashier, key(11))
    db.session.commit()
    assert payment.cash_book_id != book.id


def test_the_counter_form_says_the_day_is_closed_and_records_nothing(client, cashier):
    book = a_day_of_collections(cashier)
    cash_books.close_day(book.id, Decimal("1500.00"), None, cashier)
    account = factories.make_account()
    db.session.commit()
    sign_in(client, cashier)
    page = client.get("/staff/payments/counter").get_data(as_text=True)
    assert "You closed your cash book for today" in page
    form = {"consumer_number": account.consumer_number, "method": "cash", "amount": "250",
            "idempotency_key": key(20)}
    refused = client.post("/staff/payments/counter", data=form)
    assert refused.status_code == 422 and "You closed your cash book for today" in refused.get_data(as_text=True)
    confirmed = client.post("/staff/payments/counter", data={**form, "confirmed": "yes"})
    assert confirmed.status_code == 422 and "Nothing was recorded" in confirmed.get_data(as_text=True)
    assert db.session.scalar(select(Payment).where(Payment.account_id == account.id)) is None


def test_acceptance_by_another_supervisor_once(cashier):
    book = a_day_of_collections(cashier)
    supervisor = factories.make_user(role="billing", office="Pune")
    with pytest.raises(services.PaymentError, match="not closed this cash book yet"):
        cash_books.accept_day(book.id, supervisor)
    cash_books.close_day(book.id, Decimal("1500.00"), None, cashier)
    with pytest.raises(services.PaymentError, match="Only an administrator or a billing officer"):
        cash_books.accept_day(book.id, cashier)  # support staff accept nothing, their own least of all
    with pytest.raises(services.PaymentError, match="no such cash book"):
        cash_books.accept_day(book.id, factories.make_user(role="admin", office="Mumbai"))  # another office
    cash_books.accept_day(book.id, supervisor)
    db.session.commit()
    assert (book.state, book.accepted_by_id) == (CashBookState.ACCEPTED, supervisor.id)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "cash_book.accepted")).actor_id == supervisor.id
    with pytest.raises(services.PaymentError, match="already accepted"):
        cash_books.accept_day(book.id, factories.make_user(role="admin"))


def test_a_supervisor_never_accepts_their_own_day():
    admin = factories.make_user(role="admin")  # head office: sees every book, takes payments too
    book = a_day_of_collections(admin)
    cash_books.close_day(book.id, Decimal("1500.00"), None, admin)
    with pytest.raises(services.PaymentError, match="your own cash book"):
        cash_books.accept_day(book.id, admin)
    db.session.commit()
    # The database refuses it too, whatever the code does.
    book.state, book.accepted_by_id, book.accepted_at = CashBookState.ACCEPTED, admin.id, book.closed_at
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_cashier_closes_and_a_supervisor_accepts_through_the_pages(client, cashier):
    book = a_day_of_collections(cashier)
    sign_in(client, cashier)
    page = client.get("/staff/cash-book").get_data(as_text=True)
    assert "My cash book today" in page and "Pune" in page and "Asha Kulkarni" in page
    assert "₹1,500.00" in page and "₹2,000.00" in page and "₹300.00" in page and "₹3,800.00" in page
    assert "123456" in page and "SBI KOTHRUD" in page and "Close the day" in page
    close_url = f"/staff/cash-books/{book.id}/close"
    short = client.post(close_url, data={"counted_cash": "1,400"})
    assert short.status_code == 422 and "differs from the cash recorded by ₹100.00" in short.get_data(as_text=True)
    closed = client.post(close_url, data={"counted_cash": "1,400", "note": "₹100 paid out by mistake"},
                         follow_redirects=True).get_data(as_text=True)
    assert "Day closed" in closed and "₹100.00 short" in closed and "Close the day</button>" not in closed
    again = client.post(close_url, data={"counted_cash": "1500"}, follow_redirects=True)
    assert "already closed" in again.get_data(as_text=True)
    slip = client.get(f"/staff/cash-books/{book.id}/deposit-slip").get_data(as_text=True)
    assert "Deposit slip" in slip and "123456" in slip and "SBI KOTHRUD" in slip and "654321" in slip
    assert "₹1,400.00" in slip and "₹3,700.00" in slip  # counted cash + ₹2,300 of instruments
    assert client.post(f"/staff/cash-books/{book.id}/accept").status_code == 403  # support staff accept nothing

    supervisor = factories.make_user(role="billing", office="Pune", email="boss@example.com")
    colleague = factories.make_user(role="support", office="Pune", email="colleague@example.com")
    elsewhere = factories.make_user(role="admin", office="Mumbai", email="mumbai@example.com")
    db.session.commit()
    for outsider in (colleague, elsewhere):  # another cashier's book, another office's book: as if none
        sign_in(client, outsider)
        assert client.get(f"/staff/cash-books/{book.id}").status_code == 404
        assert client.get(f"/staff/cash-books/{book.id}/deposit-slip").status_code == 404
    assert "Asha Kulkarni" not in client.get("/staff/cash-books").get_data(as_text=True)
    sign_in(client, supervisor)
    listed = client.get("/staff/cash-books").get_data(as_text=True)
    assert "Asha Kulkarni" in listed and "Closed, waiting for acceptance" in listed and "₹100.00 short" in listed
    page = client.get(f"/staff/cash-books/{book.id}").get_data(as_text=True)
    assert "Accept the cash book" in page
    accepted = client.post(f"/staff/cash-books/{book.id}/accept", data={}, follow_redirects=True)
    assert "Cash book accepted" in accepted.get_data(as_text=True)
    twice = client.post(f"/staff/cash-books/{book.id}/accept", data={}, follow_redirects=True)
    assert "already accepted" in twice.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CashBook, book.id).accepted_by_id == supervisor.id


def test_an_open_day_has_no_deposit_slip_and_an_empty_day_no_book(client, cashier):
    sign_in(client, cashier)
    assert "No counter payment recorded today yet" in client.get("/staff/cash-book").get_data(as_text=True)
    book = a_day_of_collections(cashier)
    response = client.get(f"/staff/cash-books/{book.id}/deposit-slip", follow_redirects=True)
    assert "Close the day first" in response.get_data(as_text=True)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_counter_receipt_names_cashier_centre_bill_balance_and_words(client, cashier):
    account, bill = billed_account(total="1500.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, CASH, Decimal("1000.00"), cashier, key(30))
    db.session.commit()
    sign_in(client, cashier)  # printed at the counter by the cashier
    page = client.get(f"/payments/{payment.id}/receipt").get_data(as_text=True)
    for expected in ("Received by", "Asha Kulkarni", "Collection centre", "Pune", bill.number,
                     "₹500.00 still due", "Rupees One Thousand Only", payment.receipt_number):
        assert expected in page, expected
    text = pdf_text(client.get(f"/payments/{payment.id}/receipt.pdf").data)
    for expected in ("Received by", "Asha Kulkarni", "Collection centre", "Pune", bill.number, "₹500.00 still due",
                     "One Thousand"):
        assert expected in text, expected
    hindi = squeezed(hindi_text(client.get(f"/payments/{payment.id}/receipt.pdf?lang=hi").data))
    assert "AshaKulkarni" in hindi and squeezed("संग्रह केंद्र") in hindi


def test_entries_racing_the_closing_are_either_counted_or_refused(app, cashier):
    """Counter payments from several desks' threads while the cashier closes the day: each one either lands before
    the closing (and is in its count) or is refused; two closings and two acceptances at once: one each."""
    from concurrent.futures import ThreadPoolExecutor

    account = factories.make_account()
    supervisors = [factories.make_user(role="admin", email=f"sup{n}@example.com") for n in range(2)]
    db.session.commit()
    services.record_counter_payment(account.id, CASH, Decimal("10.00"), cashier, key(100))  # opens the book
    db.session.commit()
    book_id = cash_books.todays_book(cashier).id
    # Threads get plain values only (each has its own app context and session).
    cashier_email, consumer_number = cashier.email, account.consumer_number
    supervisor_emails, supervisor_ids = [s.email for s in supervisors], {s.id for s in supervisors}
    db.session.rollback()  # end this session's read (SQLite would keep showing the book as it was)

    def signed_in(email):
        own = app.test_client()
        assert own.post("/login", data={"login": email, "password": factories.PASSWORD}).status_code == 302
        return own

    def act(job):
        kind, n = job
        own = signed_in(cashier_email if kind != "accept" else supervisor_emails[n])
        if kind == "pay":
            return kind, own.post("/staff/payments/counter", data={
                "consumer_number": consumer_number, "method": "cash", "amount": "10",
                "idempotency_key": key(200 + n), "confirmed": "yes"}).status_code
        if kind == "close":
            return kind, own.post(f"/staff/cash-books/{book_id}/close", data={
                "counted_cash": "0", "note": "counted later"}).headers.get("Location", "")
        return kind, own.post(f"/staff/cash-books/{book_id}/accept", data={}).status_code

    jobs = [("pay", n) for n in range(8)] + [("close", 0), ("close", 1)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(act, jobs))
    paid = [status for kind, status in results if kind == "pay"]
    assert set(paid) <= {303, 422}
    db.session.rollback()
    book = db.session.get(CashBook, book_id)
    totals = cash_books.totals_of(book_id)
    assert book.state == CashBookState.CLOSED
    assert book.expected_cash == totals.cash == Decimal("10.00") * (1 + paid.count(303))
    closings = db.session.scalars(select(AuditLog).where(AuditLog.action == "cash_book.closed")).all()
    assert len(closings) == 1

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(act, [("accept", 0), ("accept", 1)]))
    db.session.rollback()
    assert db.session.get(CashBook, book_id).accepted_by_id in supervisor_ids
    assert len(db.session.scalars(select(AuditLog).where(AuditLog.action == "cash_book.accepted")).all()) == 1
