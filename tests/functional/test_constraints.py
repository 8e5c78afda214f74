"""Writes that must happen once are guarded by the database, not by hoping."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Account
from app.billing.models import LedgerEntry, LedgerKind
from app.db import ImmutableRowError
from app.extensions import db
from app.notifications.models import PushSubscription
from app.payments.models import Payment, PaymentMethod
from tests import factories


def fails_to_insert(*objects) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add_all(objects)
            db.session.flush()
    except IntegrityError:
        return True
    return False


def test_one_bill_per_account_and_period(app):
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "100.00", period_start=date(2026, 10, 1))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        factories.make_bill(account, "100.00", period_start=date(2026, 10, 1))
    factories.make_bill(account, "90.00", period_start=date(2026, 10, 1), revision=1)  # a revision is allowed


def test_consumer_numbers_are_unique(app):
    factories.make_account(consumer_number="170000000001")
    assert fails_to_insert(Account(consumer_number="170000000001", holder_name="x", address="x", region="x",
                                   category="x", sanctioned_load_kw=Decimal(1), billing_cycle="monthly",
                                   connected_on=date(2020, 1, 1)))


def test_gateway_payment_ids_and_references_are_unique(app):
    account = factories.make_account()

    def payment(**fields):
        return Payment(account_id=account.id, amount=Decimal("10.00"), method=PaymentMethod.GATEWAY, **fields)

    db.session.add(payment(reference="PAY1", gateway_payment_id="pay_abc"))
    db.session.flush()
    assert fails_to_insert(payment(reference="PAY2", gateway_payment_id="pay_abc"))
    assert fails_to_insert(payment(reference="PAY1"))


def test_push_endpoints_are_unique(app):
    user = factories.make_user()
    db.session.add(PushSubscription(user_id=user.id, endpoint="https://push.example/1", p256dh="k", auth="a"))
    db.session.flush()
    assert fails_to_insert(PushSubscription(user_id=user.id, endpoint="https://push.example/1", p256dh="k",
                                            auth="a"))


def test_issued_bills_and_ledger_entries_are_never_edited(app):
    account = factories.make_account(tariff=factories.make_tariff())
    bill = factories.make_bill(account, "100.00")
    db.session.commit()
    bill.total_due = Decimal("1.00")
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()
    entry = db.session.query(LedgerEntry).one()
    assert entry.kind is LedgerKind.BILL and entry.amount == Decimal("100.00")
    db.session.delete(entry)
    with pytest.raises(ImmutableRowError):
        db.session.flush()
    db.session.rollback()


def test_money_comes_back_as_exact_decimal(app):
    account = factories.make_account(tariff=factories.make_tariff())
    factories.make_bill(account, "1234567.89")
    db.session.commit()
    db.session.expire_all()
    amount = db.session.query(LedgerEntry.amount).scalar()
    assert isinstance(amount, Decimal) and amount == Decimal("1234567.89")
