"""The whole payment flow with the Razorpay adapter in place of the sandbox: its responses are replayed from
tests/data/razorpay (transcribed from Razorpay's documentation) and its signatures were computed with OpenSSL."""

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.billing import ledger
from app.billing.models import LedgerKind
from app.extensions import db
from app.payments import services
from app.payments.gateways.razorpay import RazorpayGateway
from app.payments.models import Payment, PaymentEvent, PaymentState
from tests import factories
from tests.functional.test_payment_helpers import billed_account, ledger_entries, pay_form
from tests.unit.test_payment_razorpay import Replay

DATA = Path(__file__).resolve().parents[1] / "data" / "razorpay"
ORDER, PAYMENT, FAILED_ATTEMPT = "order_DaZlswtdcn9UNV", "pay_DESlfW9H8K9uqM", "pay_N8FUmetkCE2hZP"
# printf '%s' 'order_DaZlswtdcn9UNV|pay_DESlfW9H8K9uqM' | openssl dgst -sha256 -hmac 'razorpay-key-test-secret'
CHECKOUT_SIGNATURE = "61c8b317b980eec00196f0008f13a0f27626d539136591b0757235239c7ad037"
# openssl dgst -sha256 -hmac 'razorpay-webhook-test-secret' tests/data/razorpay/<file>
SIGNED = {"webhook_order_paid.json": "e8765f5802e191c64ba949182c07864018f733d95ec84b0cfb9c68ddb60a246b",
          "webhook_payment_failed.json": "eee9c14befa0a03c2afeb17ef34acc1d323ff755e34aa9afccf5532012117bdc",
          "webhook_refund_processed.json": "50f413b4eb6df85b04edf1ebc0e4e255ecaf248e66d9e5572d187e1fae559b56"}


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def razorpay(app):
    transport = Replay()
    gateway = RazorpayGateway("rzp_test_1DP5mmOlF5G5ag", "razorpay-key-test-secret", "razorpay-webhook-test-secret",
                              transport=transport)
    app.extensions["dtech.payment_gateway"] = gateway
    yield transport
    del app.extensions["dtech.payment_gateway"]


def deliver(client, name: str, event_id: str):
    return client.post("/payments/webhook", data=recorded(name),
                       headers={"Content-Type": "application/json", "X-Razorpay-Signature": SIGNED[name],
                                "X-Razorpay-Event-Id": event_id})


def test_pay_refund_and_webhooks_with_razorpay(client, login_as, razorpay):
    user = login_as("customer", name="Gaurav Kumar", email="gaurav.kumar@example.com")
    account, _bill = billed_account(user, "500.00", terms={"due_days": 15})

    razorpay.answers.append((200, recorded("order_created.json")))
    response = client.post("/pay", data=pay_form(client))
    assert response.status_code == 200  # the hosted checkout form, to be POSTed to Razorpay
    html = response.get_data(as_text=True)
    assert 'action="https://api.razorpay.com/v1/checkout/embedded"' in html
    assert f'name="order_id" value="{ORDER}"' in html and 'name="amount" value="50000"' in html
    assert "form-action 'self' https://api.razorpay.com" in response.headers["Content-Security-Policy"]
    assert "razorpay-key-test-secret" not in html
    payment = db.session.scalar(select(Payment))
    assert (payment.gateway, payment.gateway_order_id, payment.state) == ("razorpay", ORDER, PaymentState.CREATED)
    assert razorpay.requests[0]["json"]["receipt"] == payment.reference

    # Razorpay POSTs the signed result to our callback (cross-site: no session cookie); we ask for the payment.
    razorpay.answers.append((200, recorded("payment_captured.json")))
    back = client.application.test_client().post("/payments/callback", data={
        "razorpay_payment_id": PAYMENT, "razorpay_order_id": ORDER, "razorpay_signature": CHECKOUT_SIGNATURE})
    assert back.status_code == 303 and back.headers["Location"] == f"/payments/{payment.id}?returned=paid"
    assert razorpay.requests[1]["url"] == f"https://api.razorpay.com/v1/payments/{PAYMENT}"
    db.session.expire_all()
    assert payment.state == PaymentState.CAPTURED and payment.gateway_payment_id == PAYMENT
    assert ledger.balance(account.id) == Decimal("0.00")

    # Its webhooks: order.paid changes nothing more; the failed earlier attempt on the order is ignored.
    assert deliver(client, "webhook_order_paid.json", "evt_order_paid_1").get_json()["status"] == "unchanged: captured"
    assert deliver(client, "webhook_payment_failed.json", "evt_failed_1").get_json()["status"] == (
        "ignored: another attempt on the order")
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1

    # A partial refund by staff goes through Razorpay's refund API, idempotently.
    staff = factories.make_user(role="admin")
    razorpay.answers.append((200, recorded("refund_created.json")))
    refund = services.refund_payment(payment.id, Decimal("100.00"), "Overpaid", staff, "razorpay-refund-key-01")
    db.session.commit()
    sent = razorpay.requests[2]
    assert sent["url"] == f"https://api.razorpay.com/v1/payments/{PAYMENT}/refund"
    assert sent["headers"]["X-Refund-Idempotency"] == "razorpay-refund-key-01"
    assert (refund.gateway_refund_id, refund.state) == ("rfnd_FgRAHdNOM4ZVbO", "processed")
    assert deliver(client, "webhook_refund_processed.json", "evt_refund_1").get_json()["status"] == (
        "refund processed")
    assert ledger.balance(account.id) == Decimal("100.00")


def test_a_tampered_callback_is_refused_without_asking_razorpay(client, login_as, razorpay):
    user = login_as("customer")
    billed_account(user, "500.00", terms={"due_days": 15})
    razorpay.answers.append((200, recorded("order_created.json")))
    client.post("/pay", data=pay_form(client))
    back = client.post("/payments/callback", data={"razorpay_payment_id": FAILED_ATTEMPT, "razorpay_order_id": ORDER,
                                                   "razorpay_signature": CHECKOUT_SIGNATURE})
    assert back.headers["Location"] == "/payments?notice=unverified"
    assert len(razorpay.requests) == 1  # only the order was created
    assert db.session.scalar(select(Payment)).state == PaymentState.CREATED


def test_razorpays_failure_callback_changes_nothing(client, login_as, razorpay):
    user = login_as("customer")
    billed_account(user, "500.00", terms={"due_days": 15})
    razorpay.answers.append((200, recorded("order_created.json")))
    client.post("/pay", data=pay_form(client))
    payment = db.session.scalar(select(Payment))
    back = client.post("/payments/callback", data={
        "error[code]": "BAD_REQUEST_ERROR", "error[description]": "Payment failed",
        "error[metadata]": f'{{"payment_id":"{FAILED_ATTEMPT}","order_id":"{ORDER}"}}'})
    assert back.headers["Location"] == f"/payments/{payment.id}?returned=failed"
    db.session.expire_all()
    assert payment.state == PaymentState.CREATED  # an unsigned report: the webhook or reconcile decides


def test_an_order_paid_webhook_before_our_order_is_known_is_matched_by_reconcile(client, login_as, razorpay):
    user = login_as("customer")
    account, _ = billed_account(user, "500.00", terms={"due_days": 15})
    assert deliver(client, "webhook_order_paid.json", "evt_early_1").status_code == 409
    assert db.session.scalar(select(PaymentEvent)).processed_at is None
    payment = Payment(account_id=account.id, user_id=user.id, amount=Decimal("500.00"), method="gateway",
                      state=PaymentState.PENDING, reference="DTRAZORPAYEARLY01", gateway="razorpay",
                      gateway_order_id=ORDER, idempotency_key="razorpay-early-key-01")
    db.session.add(payment)
    db.session.commit()
    razorpay.answers.append((200, recorded("order_payments.json")))  # reconcile asks about the pending attempt
    summary = services.reconcile(older_than_minutes=0)
    assert razorpay.requests[0]["url"] == f"https://api.razorpay.com/v1/orders/{ORDER}/payments"
    assert (summary.checked, summary.changed, summary.events_matched) == (1, {"captured": 1}, 1)
    db.session.expire_all()
    assert payment.state == PaymentState.CAPTURED and payment.gateway_payment_id == PAYMENT
    assert len(ledger_entries(account.id, LedgerKind.PAYMENT)) == 1


def test_razorpay_errors_while_reconciling_are_counted_and_retried(client, login_as, razorpay):
    user = login_as("customer")
    account, _ = billed_account(user, "500.00", terms={"due_days": 15})
    payment = Payment(account_id=account.id, amount=Decimal("500.00"), method="gateway", state=PaymentState.PENDING,
                      reference="DTRAZORPAYERROR01", gateway="razorpay", gateway_order_id=ORDER,
                      idempotency_key="razorpay-error-key-01")
    db.session.add(payment)
    db.session.commit()
    razorpay.answers.append((400, recorded("error_bad_request.json")))
    summary = services.reconcile(older_than_minutes=0)
    assert (summary.checked, summary.errors) == (0, 1)
    db.session.expire_all()
    assert payment.state == PaymentState.PENDING and payment.checked_at is None
