"""Refunds by staff: through the gateway for gateway payments, a ledger entry always, partial up to what was paid."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.billing import ledger
from app.billing.models import LedgerKind
from app.extensions import db
from app.payments import services
from app.payments.models import PaymentMethod, PaymentState, Refund, RefundState, SandboxRecord
from tests import factories
from tests.functional.test_payment_helpers import (
    billed_account,
    events,
    ledger_entries,
    pay_in_full,
    post_webhook,
    sandbox,
    webhook_bodies,
)


def key(n: int = 0) -> str:
    return f"refund-test-key-{n:04d}"


@pytest.fixture
def paid_online(client, login_as):
    user = login_as("customer")
    account, _ = billed_account(user, "1000.00", terms={"due_days": 15})
    payment, _ = pay_in_full(client)
    assert payment.state == PaymentState.CAPTURED
    staff = factories.make_user(role="admin")
    db.session.commit()
    return account, payment, staff


def test_partial_refunds_through_the_gateway_up_to_the_amount_paid(paid_online):
    account, payment, staff = paid_online
    first = services.refund_payment(payment.id, Decimal("300.00"), "Paid twice by mistake", staff, key(1))
    db.session.commit()
    assert (first.state, first.gateway_refund_id[:8]) == (RefundState.PROCESSED, "rfnd_SBX")
    # Stored as the same plain string it always was.
    assert db.session.execute(select(Refund.__table__.c.state).where(Refund.id == first.id)).scalar() == "processed"
    assert payment.state == PaymentState.CAPTURED and payment.refunded_amount == Decimal("300.00")  # partial
    at_gateway = db.session.get(SandboxRecord, first.gateway_refund_id)
    assert (at_gateway.amount, at_gateway.parent_id) == (30000, payment.gateway_payment_id)
    refund_entries = ledger_entries(account.id, LedgerKind.REFUND)
    assert [e.amount for e in refund_entries] == [Decimal("300.00")] and first.ledger_entry_id == refund_entries[0].id
    assert ledger.balance(account.id) == Decimal("300.00")

    with pytest.raises(services.RefundError, match=r"At most ₹700.00"):
        services.refund_payment(payment.id, Decimal("700.01"), "too much", staff, key(2))
    second = services.refund_payment(payment.id, Decimal("700.00"), "Connection closed", staff, key(3))
    db.session.commit()
    assert payment.state == PaymentState.REFUNDED and payment.refunded_amount == Decimal("1000.00")
    assert ledger.balance(account.id) == Decimal("1000.00")
    assert second.ledger_entry_id != first.ledger_entry_id
    with pytest.raises(services.RefundError, match="refunded payment cannot be refunded"):
        services.refund_payment(payment.id, Decimal("1.00"), "again", staff, key(4))


def test_the_same_refund_request_twice_refunds_once(paid_online):
    account, payment, staff = paid_online
    first = services.refund_payment(payment.id, Decimal("100.00"), "Overpaid", staff, key(1))
    again = services.refund_payment(payment.id, Decimal("100.00"), "Overpaid", staff, key(1))
    db.session.commit()
    assert first.id == again.id
    assert len(ledger_entries(account.id, LedgerKind.REFUND)) == 1
    assert db.session.scalar(select(SandboxRecord).where(SandboxRecord.kind == "refund")).amount == 10000


@pytest.mark.parametrize(("amount", "reason", "error"), [("0.00", "x", "amount"), ("-5", "x", "amount"),
                                                         ("10.001", "x", "amount"), ("10", " ", "reason")])
def test_refund_input_is_checked(paid_online, amount, reason, error):
    _account, payment, staff = paid_online
    with pytest.raises(services.RefundError, match=error):
        services.refund_payment(payment.id, Decimal(amount), reason, staff, key())


def test_a_gateway_refusal_writes_nothing(paid_online, monkeypatch):
    from app.payments.gateways import GatewayError
    from app.payments.gateways.sandbox import SandboxGateway

    account, payment, staff = paid_online

    def refuse(*_args, **_kwargs):
        raise GatewayError("BAD_REQUEST_ERROR: refunds are paused")

    monkeypatch.setattr(SandboxGateway, "refund", refuse)
    with pytest.raises(services.RefundError, match="refunds are paused"):
        services.refund_payment(payment.id, Decimal("10.00"), "x", staff, key())
    db.session.rollback()
    assert db.session.scalars(select(Refund)).all() == []
    assert ledger_entries(account.id, LedgerKind.REFUND) == []


def test_a_cash_payment_is_refunded_at_the_counter_with_a_ledger_entry():
    staff = factories.make_user(role="support")
    account, _ = billed_account(total="400.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("400.00"), staff, key(1))
    admin = factories.make_user(role="admin")
    refund = services.refund_payment(payment.id, Decimal("400.00"), "Wrong connection", admin, key(2))
    db.session.commit()
    assert refund.gateway_refund_id is None and refund.state is RefundState.PROCESSED
    assert payment.state == PaymentState.REFUNDED
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.REFUND)] == [Decimal("400.00")]


def test_held_and_failed_payments_cannot_be_refunded(paid_online):
    account, payment, staff = paid_online
    payment.state = PaymentState.HELD  # (as if held for review)
    db.session.commit()
    with pytest.raises(services.RefundError, match="held payment cannot be refunded"):
        services.refund_payment(payment.id, Decimal("1.00"), "x", staff, key())


def test_the_gateways_refund_webhooks_are_matched_and_a_failed_refund_is_undone(paid_online):
    account, payment, staff = paid_online
    refund = services.refund_payment(payment.id, Decimal("250.00"), "Overpaid", staff, key(1))
    db.session.commit()
    event_id, body = webhook_bodies()[-1]
    assert b'"refund.processed"' in body
    response = post_webhook(factories_client(), body, event_id)
    assert (response.status_code, response.get_json()["status"]) == (200, "refund processed")

    # The bank bounces the refund back: a refund.failed event undoes its ledger entry.
    failed = body.replace(b'"refund.processed"', b'"refund.failed"').replace(b'"status":"processed"',
                                                                               b'"status":"failed"')
    response = post_webhook(factories_client(), failed, "evt_refund_failed_1")
    assert response.get_json()["status"] == "refund failed"
    db.session.expire_all()
    assert refund.state is RefundState.FAILED and payment.refunded_amount == Decimal("0.00")
    assert payment.state == PaymentState.CAPTURED
    assert ledger.balance(account.id) == Decimal("0.00")
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.REVERSAL)] == [Decimal("-250.00")]
    assert len(events()) >= 2


def test_a_refund_event_we_did_not_make_waits_then_is_flagged(paid_online):
    from datetime import timedelta

    from app.db import utcnow
    from app.payments.models import PaymentEvent

    gateway = sandbox()
    body = gateway.event_body("refund.processed", {"refund": {"id": "rfnd_SBXfromDashbrd", "entity": "refund",
                                                              "amount": 100, "payment_id": "pay_x",
                                                              "status": "processed"}})
    assert post_webhook(factories_client(), body, "evt_dashboard_refund").status_code == 409
    stored = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == "evt_dashboard_refund"))
    stored.received_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert post_webhook(factories_client(), body, "evt_dashboard_refund").get_json()["status"] == (
        "review: refund not made here")


def test_staff_refund_through_the_form(client, paid_online):
    _account, payment, _staff = paid_online
    client.post("/logout")
    factories.make_user(role="admin", email="refunds@example.com")
    db.session.commit()
    client.post("/login", data={"login": "refunds@example.com", "password": factories.PASSWORD})
    page = client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert "At most ₹1,000.00" in page
    form = {"amount": "150", "reason": "Overpaid", "idempotency_key": key(7)}
    assert client.post(f"/staff/payments/{payment.id}/refund", data=form).status_code == 303
    assert client.post(f"/staff/payments/{payment.id}/refund", data=form).status_code == 303  # same key
    db.session.expire_all()
    assert payment.refunded_amount == Decimal("150.00")
    too_much = client.post(f"/staff/payments/{payment.id}/refund", data={**form, "amount": "851",
                                                                         "idempotency_key": key(8)})
    assert too_much.status_code == 422 and "At most ₹850.00" in too_much.get_data(as_text=True)


def factories_client():
    from flask import current_app

    return current_app.test_client()


def test_a_late_captured_event_after_a_full_refund_changes_nothing(client, paid_online):
    account, payment, staff = paid_online
    captured = [body for _id, body in webhook_bodies() if b'"payment.captured"' in body]
    services.refund_payment(payment.id, Decimal("1000.00"), "Connection closed", staff, key(9))
    db.session.commit()
    before = len(ledger_entries(account.id))
    # Razorpay may deliver an old "captured" again, under a new event id, after the refund went through.
    response = post_webhook(client, captured[0], "evt_late_after_refund")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(type(payment), payment.id).state == PaymentState.REFUNDED
    assert len(ledger_entries(account.id)) == before
