"""What a gateway (or someone holding its keys) could send that must never break us: an impossible amount in a
signed webhook, a signed checkout return naming a payment of another order."""

import json
from decimal import Decimal

from sqlalchemy import func, select

from app.billing.models import LedgerEntry, LedgerKind
from app.extensions import db
from app.payments.models import PaymentEvent, PaymentState
from tests import factories
from tests.functional.test_payment_helpers import attempt_with_order, billed_account, sandbox


def test_a_signed_webhook_with_an_impossible_amount_is_refused_and_changes_nothing(client):
    gateway = sandbox()
    account = factories.make_account()
    _payment, order_id = attempt_with_order(account, "500.00", state=PaymentState.CREATED)
    record = gateway.pay(order_id, "succeed")
    db.session.commit()
    for amount in ("1e400", "-5", "12.5", "true", '"500"'):
        entity = gateway.payment_entity(record)
        body = gateway.event_body("payment.captured", {"payment": entity})
        body = body.replace(f'"amount":{entity["amount"]}'.encode(), f'"amount":{amount}'.encode())
        assert f'"amount":{amount}'.encode() in body
        response = client.post("/payments/webhook", data=body, headers=gateway.webhook_headers(body, f"evt_{amount}"))
        assert response.status_code < 500
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == LedgerKind.PAYMENT)) == 0


def test_a_signed_return_naming_another_orders_payment_pays_nothing(client):
    gateway = sandbox()
    user = factories.make_user()
    account, _bill = billed_account(user, "900.00")
    mine, my_order = attempt_with_order(account, "900.00", state=PaymentState.CREATED, user=user)
    _other, other_order = attempt_with_order(account, "10.00", state=PaymentState.CREATED, user=user)
    other_record = gateway.pay(other_order, "succeed")
    db.session.commit()
    signature = gateway.sign_checkout(my_order, other_record.id)  # a valid signature over a mismatched pair
    response = client.get(f"/payments/callback?razorpay_order_id={my_order}&razorpay_payment_id={other_record.id}"
                          f"&razorpay_signature={signature}")
    assert response.status_code < 500
    db.session.refresh(mine)
    assert mine.state != PaymentState.CAPTURED
    paid = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                             .where(LedgerEntry.kind == LedgerKind.PAYMENT, LedgerEntry.account_id == account.id))
    assert Decimal(paid) >= Decimal("-10.00")  # at most the other order's own ₹10, never my ₹900


def test_a_webhook_is_kept_without_the_payers_personal_details(client):
    """Gateways send the payer's email, phone, UPI id and card: matching needs none of them, so none is stored."""
    gateway = sandbox()
    account = factories.make_account()
    payment, order_id = attempt_with_order(account, "500.00", state=PaymentState.CREATED)
    entity = gateway.payment_entity(gateway.pay(order_id, "succeed"))
    entity.update(email="asha.patil@example.com", contact="+919876500001", vpa="asha.patil@okicici",
                  card={"last4": "4242", "name": "Asha Patil"}, acquirer_data={"rrn": "123456789012"})
    body = gateway.event_body("payment.captured", {"payment": entity})
    db.session.commit()
    response = client.post("/payments/webhook", data=body, headers=gateway.webhook_headers(body, "evt_personal"))
    assert response.status_code == 200, response.get_json()
    stored = db.session.scalar(select(PaymentEvent.payload))
    for personal in ("asha.patil", "9876500001", "4242", "Asha Patil", "123456789012"):
        assert personal not in stored
    assert json.loads(stored)["payload"]["payment"]["entity"]["order_id"] == order_id
    db.session.refresh(payment)
    assert payment.state == PaymentState.CAPTURED
