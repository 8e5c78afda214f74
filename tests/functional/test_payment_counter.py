"""Counter payments by staff (cash with its limit, cheques, drafts), bounced cheques, staff confirmation of UPI."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.billing import ledger
from app.billing.bills import bill_status
from app.billing.models import LedgerKind
from app.db import today_in_india
from app.extensions import db
from app.payments import services
from app.payments.models import Payment, PaymentMethod, PaymentState
from tests import factories
from tests.functional.test_payment_helpers import billed_account, ledger_entries

CASH, CHEQUE, DRAFT, CARD = PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT, PaymentMethod.CARD
MICR = "411002003"  # Pune (411), State Bank of India (002), a branch (003)


def key(n: int = 0) -> str:
    return f"counter-test-key-{n:04d}"


@pytest.fixture
def staff():
    user = factories.make_user(role="support")
    db.session.commit()
    return user


def test_cash_is_captured_at_once_with_a_receipt_and_audited(staff):
    account, bill = billed_account(total="1500.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, CASH, Decimal("1500.00"), staff, key())
    db.session.commit()
    assert payment.state == PaymentState.CAPTURED and payment.receipt_number == f"RCP{payment.id:09d}"
    assert payment.recorded_by_id == staff.id and payment.gateway is None
    assert [(e.amount, e.created_by_id) for e in ledger_entries(account.id, LedgerKind.PAYMENT)] == [
        (Decimal("-1500.00"), staff.id)]
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) == "paid"
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_id == str(payment.id))))
    assert {"payment.captured", "payment.counter"} <= actions


def test_the_same_form_twice_records_one_payment(staff):
    account, _ = billed_account(total="500.00")
    first = services.record_counter_payment(account.id, CASH, Decimal("500.00"), staff, key())
    second = services.record_counter_payment(account.id, CASH, Decimal("500.00"), staff, key())
    db.session.commit()
    assert first.id == second.id
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1


def test_cash_is_limited_per_connection_and_day(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "CASH_LIMIT", Decimal("10000"))
    account, _ = billed_account(total="25000.00", terms={"due_days": 15})
    services.record_counter_payment(account.id, CASH, Decimal("6000.00"), staff, key(1))
    with pytest.raises(services.CashLimitExceeded, match=r"up to ₹10,000.00 a day.*₹4,000.00 more"):
        services.record_counter_payment(account.id, CASH, Decimal("4000.01"), staff, key(2))
    services.record_counter_payment(account.id, CASH, Decimal("4000.00"), staff, key(3))
    with pytest.raises(services.CashLimitExceeded, match=r"₹0.00 more"):
        services.record_counter_payment(account.id, CASH, Decimal("1.00"), staff, key(4))
    # A cheque for the rest is fine; so is cash for another connection.
    services.record_counter_payment(account.id, CHEQUE, Decimal("15000.00"), staff, key(5), "123456", "SBI Kothrud",
                                    instrument_micr=MICR)
    other, _ = billed_account(total="100.00", terms={"due_days": 15})
    services.record_counter_payment(other.id, CASH, Decimal("100.00"), staff, key(6))
    db.session.commit()
    assert ledger.balance(account.id) == Decimal("0.00")


def test_yesterdays_cash_does_not_count_today(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "CASH_LIMIT", Decimal("10000"))
    account, _ = billed_account(total="20000.00", terms={"due_days": 15})
    earlier = services.record_counter_payment(account.id, CASH, Decimal("10000.00"), staff, key(1))
    earlier.captured_at -= timedelta(days=1)
    db.session.commit()
    assert services.cash_received_today(account.id) == Decimal("0.00")
    services.record_counter_payment(account.id, CASH, Decimal("10000.00"), staff, key(2))


@pytest.mark.parametrize(("method", "number", "bank", "micr", "error"), [
    (CHEQUE, "", "SBI", MICR, "six-digit"), (CHEQUE, "12345", "SBI", MICR, "six-digit"),
    (DRAFT, "123456", " ", MICR, "bank"), (CHEQUE, "123456", "SBI", None, "MICR"),
    (CHEQUE, "123456", "SBI", "41100200", "MICR"), (DRAFT, "123456", "SBI", "4110020031", "MICR"),
    (CHEQUE, "123456", "SBI", "41100200A", "MICR"),
    (PaymentMethod.UPI, None, None, None, "cash, card, cheque or demand draft"),
])
def test_instruments_need_their_number_micr_code_and_bank(staff, method, number, bank, micr, error):
    account, _ = billed_account(total="100.00")
    with pytest.raises(services.PaymentError, match=error):
        services.record_counter_payment(account.id, method, Decimal("100.00"), staff, key(), number, bank,
                                        instrument_micr=micr)


@pytest.mark.parametrize("amount", ["0.00", "0.99", "1000000.01", "10.001"])
def test_counter_amounts_have_bounds(staff, amount):
    account, _ = billed_account(total="100.00")
    with pytest.raises(services.AmountOutOfRange):
        services.record_counter_payment(account.id, CHEQUE, Decimal(amount), staff, key(), "123456", "SBI",
                                        instrument_micr=MICR)


def test_a_bounced_cheque_is_reversed_with_its_rebate_and_the_charge(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "CHEQUE_BOUNCE_CHARGE", Decimal("150"))
    account, bill = billed_account(total="2000.00", terms={"due_days": 15,
                                                            "prompt_rebate": [{"within_days": 7, "percent": "1"}]})
    payment = services.record_counter_payment(account.id, CHEQUE, Decimal("1980.00"), staff, key(), "654321",
                                              "HDFC Aundh", instrument_micr=MICR)
    db.session.commit()
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.REBATE)] == [Decimal("-20.00")]  # prompt only
    # Credited subject to clearing: the bill says so, not "paid" (issue 9, point 20).
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) == "clearing"

    services.bounce_instrument(payment.id, "Funds insufficient", staff)
    db.session.commit()
    assert payment.state == PaymentState.BOUNCED and payment.failure_reason == "Funds insufficient"
    reversals = ledger_entries(account.id, LedgerKind.REVERSAL)
    assert sorted(e.amount for e in reversals) == [Decimal("20.00"), Decimal("1980.00")]
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.ADJUSTMENT)] == [Decimal("150.00")]
    assert ledger.balance(account.id) == Decimal("2150.00")
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) == "due"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "payment.bounced")).actor_id == staff.id
    # Marking it again changes nothing.
    services.bounce_instrument(payment.id, "Funds insufficient", staff)
    db.session.commit()
    assert len(ledger_entries(account.id)) == 6  # bill, payment, rebate, two reversals, charge


def test_a_dishonoured_draft_costs_the_default_charge_unless_configured(app, staff):
    """Unless the deployment sets DTECH_CHEQUE_BOUNCE_CHARGE, a returned cheque or draft costs ₹150.00."""
    from config import DEFAULT_CHEQUE_BOUNCE_CHARGE, TestingConfig

    assert TestingConfig().CHEQUE_BOUNCE_CHARGE == Decimal(DEFAULT_CHEQUE_BOUNCE_CHARGE) == Decimal("150.00")
    assert app.config["CHEQUE_BOUNCE_CHARGE"] == Decimal("150.00")
    account, _ = billed_account(total="500.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, DRAFT, Decimal("500.00"), staff, key(), "112233", "PNB",
                                              instrument_micr=MICR)
    services.bounce_instrument(payment.id, "Draft stopped", staff)
    db.session.commit()
    (charge,) = ledger_entries(account.id, LedgerKind.ADJUSTMENT)
    assert charge.amount == Decimal("150.00") and isinstance(charge.amount, Decimal)
    assert charge.payment_id == payment.id and "112233" in charge.description
    assert ledger.balance(account.id) == Decimal("650.00")


def test_a_deployment_without_a_charge_only_reverses(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "CHEQUE_BOUNCE_CHARGE", Decimal("0"))
    account, _ = billed_account(total="500.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, DRAFT, Decimal("500.00"), staff, key(), "112233", "PNB",
                                              instrument_micr=MICR)
    services.bounce_instrument(payment.id, "Draft stopped", staff)
    db.session.commit()
    assert ledger_entries(account.id, LedgerKind.ADJUSTMENT) == []
    assert ledger.balance(account.id) == Decimal("500.00")


def test_cash_and_refunded_cheques_cannot_bounce(staff):
    account, _ = billed_account(total="500.00", terms={"due_days": 15})
    cash = services.record_counter_payment(account.id, CASH, Decimal("100.00"), staff, key(1))
    with pytest.raises(services.PaymentError, match="Only a cheque or a demand draft"):
        services.bounce_instrument(cash.id, "?", staff)
    cheque = services.record_counter_payment(account.id, CHEQUE, Decimal("400.00"), staff, key(2), "123456", "SBI",
                                             instrument_micr=MICR)
    services.clear_instrument(cheque.id, staff)
    services.refund_payment(cheque.id, Decimal("10.00"), "overpaid", factories.make_user(role="admin"), key(3))
    with pytest.raises(services.PaymentError, match="refunded"):
        services.bounce_instrument(cheque.id, "Funds insufficient", staff)
    with pytest.raises(services.PaymentError, match="reason"):
        services.bounce_instrument(cheque.id, " ", staff)


def test_staff_record_a_counter_payment_through_the_form(client, login_as):
    account, _ = billed_account(total="750.00", terms={"due_days": 15})
    login_as("support")
    page = client.get(f"/staff/payments/counter?consumer_number={account.consumer_number}")
    assert page.status_code == 200 and account.consumer_number in page.get_data(as_text=True)
    form = {"consumer_number": account.consumer_number, "method": "cash", "amount": "₹750",
            "idempotency_key": key(9)}
    check = client.post("/staff/payments/counter", data=form)  # first the confirmation page
    assert check.status_code == 200 and account.holder_name in check.get_data(as_text=True)
    assert db.session.scalar(select(Payment)) is None
    form["confirmed"] = "yes"
    response = client.post("/staff/payments/counter", data=form)
    payment = db.session.scalar(select(Payment))
    assert response.status_code == 303 and response.headers["Location"] == f"/staff/payments/{payment.id}"
    assert client.post("/staff/payments/counter", data=form).status_code == 303  # a double click: same payment
    assert len(db.session.scalars(select(Payment)).all()) == 1
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert payment.receipt_number in detail and "Refund" in detail
    listing = client.get(f"/staff/payments?consumer_number={account.consumer_number}").get_data(as_text=True)
    assert payment.receipt_number in listing
    refused = client.post("/staff/payments/counter", data={**form, "idempotency_key": key(10), "method": "cheque"})
    assert refused.status_code == 422 and "six-digit" in refused.get_data(as_text=True)
    unknown = client.post("/staff/payments/counter", data={**form, "consumer_number": "0000"})
    assert unknown.status_code == 422 and "no connection" in unknown.get_data(as_text=True)


def test_staff_bounce_through_the_form(client, login_as):
    account, _ = billed_account(total="300.00", terms={"due_days": 15})
    staff = login_as("admin")
    payment = services.record_counter_payment(account.id, CHEQUE, Decimal("300.00"), staff, key(), "111111", "SBI",
                                              instrument_micr=MICR)
    db.session.commit()
    response = client.post(f"/staff/payments/{payment.id}/bounce", data={"reason": "Signature differs"})
    assert response.status_code == 303
    db.session.expire_all()
    assert payment.state == PaymentState.BOUNCED


def test_staff_confirm_a_upi_payment_from_the_bank_statement(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "420.00", terms={"due_days": 15})
    from tests.functional.test_payment_helpers import start_checkout

    start_checkout(client, method="upi")
    payment = db.session.scalar(select(Payment))
    staff = factories.make_user(role="admin")
    with pytest.raises(services.PaymentError, match="12-digit"):
        services.confirm_upi_by_staff(payment.id, "12345", Decimal("420.00"), staff)
    services.confirm_upi_by_staff(payment.id, "412345678901", Decimal("420.00"), staff)
    db.session.commit()
    assert payment.state == PaymentState.CAPTURED and payment.instrument_number == "412345678901"
    assert ledger.balance(account.id) == Decimal("0.00")
    with pytest.raises(services.PaymentError, match="nothing to confirm"):
        services.confirm_upi_by_staff(payment.id, "412345678901", Decimal("420.00"), staff)


def test_staff_refusals_are_shown_in_the_staff_members_language(client, login_as):
    support = login_as("support", locale="hi_IN")
    account, _ = billed_account(total="500.00", terms={"due_days": 15})
    cash = services.record_counter_payment(account.id, CASH, Decimal("100.00"), support, key(1))
    db.session.commit()
    page = client.post(f"/staff/payments/{cash.id}/accept", follow_redirects=True)
    assert "केवल जाँच के लिए रोका गया भुगतान ही स्वीकार किया जा सकता है।" in page.get_data(as_text=True)
    page = client.post(f"/staff/payments/{cash.id}/refund", data={
        "amount": "500.00", "reason": "overpaid", "idempotency_key": key(2)})
    assert "इस भुगतान में से अब अधिकतम ₹100.00 रिफ़ंड किए जा सकते हैं।" in page.get_data(as_text=True)


def test_every_payment_refusal_carries_a_code():
    """Refusals are raised as PaymentError.refused(code, …), so every page can show them in Hindi too."""
    import ast
    from pathlib import Path

    from app.payments.base import REFUSALS

    folder = Path(services.__file__).parent
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else (
                    func.id if isinstance(func, ast.Name) else "")
                if name in {"PaymentError", "RefundError", "AmountOutOfRange", "CashLimitExceeded"}:
                    assert isinstance(func, ast.Attribute) and func.attr == "refused", (path.name, node.lineno)
                    assert node.exc.args[0].value in REFUSALS, (path.name, node.lineno)


def test_the_same_cheque_is_recorded_once_on_any_connection_until_it_bounces(staff):
    account, _bill = billed_account(total="5000.00", terms={"due_days": 15})
    first = services.record_counter_payment(account.id, CHEQUE, Decimal("1000.00"), staff, key(1), "123456",
                                            "HDFC Bank", instrument_micr="411240005")
    db.session.commit()
    other, _ = billed_account(total="100.00", terms={"due_days": 15})
    for account_id, micr, bank in ((account.id, "411 240 005", "HDFC Bank Aundh"),  # spaced, bank named otherwise
                                    (other.id, "411240005", "Housing Development Finance Corp")):  # elsewhere
        with pytest.raises(services.PaymentError) as refused:
            services.record_counter_payment(account_id, CHEQUE, Decimal("100.00"), staff, key(2), "123456", bank,
                                            instrument_micr=micr)
        assert refused.value.code == "instrument_recorded" and first.receipt_number in str(refused.value)
        db.session.rollback()
    with pytest.raises(services.PaymentError, match="already recorded"):  # nor as a draft of the same paper
        services.check_counter_payment(other.id, DRAFT, Decimal("100.00"), "123456", "HDFC", cashier=staff,
                                       instrument_micr="411240005")
    # Another branch's cheque with the same number is another cheque.
    services.record_counter_payment(other.id, CHEQUE, Decimal("100.00"), staff, key(3), "123456", "HDFC Bank",
                                    instrument_micr="411240006")
    services.bounce_instrument(first.id, "insufficient funds", staff)
    again = services.record_counter_payment(account.id, CHEQUE, Decimal("1000.00"), staff, key(4), "123456",
                                            "HDFC BANK", instrument_micr="411240005")  # presented again
    db.session.commit()
    assert again.state == PaymentState.CLEARING and again.instrument_micr == "411240005"


def test_the_database_refuses_a_twin_cheque_on_another_connection(staff):
    from sqlalchemy.exc import IntegrityError

    account, _bill = billed_account(total="5000.00", terms={"due_days": 15})
    other, _ = billed_account(total="100.00", terms={"due_days": 15})
    services.record_counter_payment(account.id, CHEQUE, Decimal("1000.00"), staff, key(1), "654321", "SBI",
                                    instrument_micr=MICR)
    db.session.commit()
    twin = Payment(account_id=other.id, amount=Decimal("1000.00"), method=DRAFT, state=PaymentState.CLEARING,
                   reference="TWIN0000001", instrument_number="654321", instrument_bank="STATE BANK",
                   instrument_micr=MICR)
    db.session.add(twin)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_cashiers_recording_the_same_cheque_at_once_record_it_once(app, staff):
    """Each cashier's check finds nothing, both insert; the unique index lets one through (on PostgreSQL the
    second waits for the first's commit, then is refused)."""
    import threading

    first, _ = billed_account(total="1000.00", terms={"due_days": 15})
    second, _ = billed_account(total="1000.00", terms={"due_days": 15})
    cashiers = [factories.make_user(role="support") for _ in range(2)]
    db.session.commit()
    ready = threading.Barrier(2)
    outcomes: list[str] = []

    def record(n: int, account_id: int, cashier_id: int) -> None:
        from app.auth.models import User
        from app.db import begin_write

        with app.app_context():
            ready.wait()
            begin_write(db.session)  # as every POST does (SQLite's writers queue; PostgreSQL needs nothing)
            cashier = db.session.get(User, cashier_id)
            try:
                services.record_counter_payment(account_id, CHEQUE, Decimal("500.00"), cashier, key(10 + n),
                                                "777777", "SBI", instrument_micr=MICR)
                db.session.commit()
                outcomes.append("recorded")
            except services.PaymentError as refused:
                db.session.rollback()
                outcomes.append(refused.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=record, args=(n, account.id, cashier.id))
               for n, (account, cashier) in enumerate(zip((first, second), cashiers, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["instrument_recorded", "recorded"]
    db.session.rollback()  # this thread's snapshot predates the threads' commits
    assert db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.instrument_number == "777777")) == 1


def test_a_card_at_the_counter_keeps_the_approval_code_and_last_four_digits_only(staff):
    account, bill = billed_account(total="2500.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, CARD, Decimal("2500.00"), staff, key(1), " ab12c9 ",
                                              card_last4="4242")
    db.session.commit()
    assert payment.state == PaymentState.CAPTURED and payment.receipt_number  # approved on the terminal: paid
    assert (payment.instrument_number, payment.card_last4, payment.instrument_micr) == ("AB12C9", "4242", None)
    assert bill_status(bill, ledger.balance(account.id), today_in_india()) == "paid"
    with pytest.raises(services.PaymentError, match="Only a cheque or a demand draft"):
        services.bounce_instrument(payment.id, "chargeback", staff)


@pytest.mark.parametrize(("code", "last4", "refusal"), [
    ("AB12C9", "4111 1111 1111 1111", "card_full_number"), ("4111111111111111", "1111", "card_full_number"),
    ("AB12C9", "4111-1111-1111-1111", "card_full_number"), ("AB12", "4242", "card_approval_code"),
    ("AB12C9", "424", "card_last4"), ("AB12C9", "", "card_last4"), ("", "4242", "card_approval_code"),
])
def test_a_card_payment_refuses_anything_but_four_digits_and_an_approval_code(staff, code, last4, refusal):
    account, _ = billed_account(total="100.00")
    with pytest.raises(services.PaymentError) as refused:
        services.record_counter_payment(account.id, CARD, Decimal("100.00"), staff, key(), code, card_last4=last4)
    assert refused.value.code == refusal
    assert "4111" not in str(refused.value)  # the card number is never echoed


def test_refunded_cash_does_not_count_against_the_days_limit(app, staff, monkeypatch):
    monkeypatch.setitem(app.config, "CASH_LIMIT", Decimal("10000"))
    monkeypatch.setitem(app.config, "APPROVAL_LIMIT", Decimal("10000"))
    account, _bill = billed_account(total="20000.00", terms={"due_days": 15})
    taken = services.record_counter_payment(account.id, CASH, Decimal("9000.00"), staff, key(1))
    db.session.commit()
    admin = factories.make_user(role="admin")
    services.refund_payment(taken.id, Decimal("9000.00"), "taken from the wrong customer", admin,
                            "refund-test-key-0001")
    db.session.commit()
    services.record_counter_payment(account.id, CASH, Decimal("9000.00"), staff, key(2))  # the day's cash is ₹9,000
    db.session.commit()
