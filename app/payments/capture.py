"""A payment's state changes (captured, held, failed) and paying online: start, order, checkout return."""

from __future__ import annotations

import logging
from decimal import Decimal

from app import audit
from app.accounts.models import Account
from app.billing import ledger
from app.billing.models import LedgerKind
from app.db import ZERO, insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.payments.base import (
    IDEMPOTENCY_KEY,
    METHOD_LABELS,
    SYSTEM,
    PaymentError,
    _lock_account,
    _locked,
    new_reference,
    receipt_number_for,
    security_log,
)
from app.payments.gateways import (
    Gateway,
    GatewayError,
    GatewayPayment,
    get_gateway,
    to_paise,
)
from app.payments.models import (
    DIGITAL_METHODS,
    Payment,
    PaymentMethod,
    PaymentState,
)
from app.payments.rebates import _grant_rebate
from app.payments.signals import payment_captured, payment_failed
from app.payments.states import CREDITED, can_move, check_transition

log = logging.getLogger(__name__)


def _capture(payment: Payment, received: Decimal, source: str, actor=None,
             state: PaymentState = PaymentState.CAPTURED) -> None:
    """Credit the ledger with what was received and give the receipt; `state` CLEARING for a cheque or draft,
    credited subject to clearing (the bank may still return it: see counter.bounce_instrument)."""
    check_transition(payment.state, state)
    _lock_account(payment.account_id)  # a connection's balance and rebate decisions are taken one at a time
    balance_before = ledger.balance(payment.account_id)
    payment.state = state
    payment.received_amount = received
    payment.captured_at = utcnow()
    payment.failure_reason = None
    payment.receipt_number = payment.receipt_number or receipt_number_for(payment)
    ledger.post(payment.account_id, LedgerKind.PAYMENT, -received, today_in_india(),
                f"Payment {payment.receipt_number} ({METHOD_LABELS[payment.method]})", payment_id=payment.id,
                actor=actor)
    rebate = _grant_rebate(payment, balance_before, received, actor)
    details = {"amount": str(received), "receipt": payment.receipt_number, "source": source}
    if state != PaymentState.CAPTURED:
        details["state"] = state.value
    if rebate:
        details["rebate"] = str(rebate)
    audit.record("payment.captured", payment, details, actor=actor or SYSTEM)
    payment_captured.send(payment)


def _hold(payment: Payment, received: Decimal, reason: str, source: str, actor=None) -> None:
    check_transition(payment.state, PaymentState.HELD)
    payment.state = PaymentState.HELD
    payment.received_amount = received
    payment.failure_reason = reason[:200]
    log.warning("payment %s held for review: %s", payment.reference, reason)
    audit.record("payment.held", payment, {"received": str(received), "expected": str(payment.amount),
                                           "reason": reason[:200], "source": source}, actor=actor or SYSTEM)


def _fail(payment: Payment, reason: str, source: str, actor=None) -> None:
    check_transition(payment.state, PaymentState.FAILED)
    before = payment.state.value
    payment.state = PaymentState.FAILED
    payment.failure_reason = reason[:200]
    audit.record("payment.failed", payment, {"reason": reason[:200], "source": source, "before": before},
                 actor=actor or SYSTEM)
    payment_failed.send(payment)


def _target_state(payment: Payment, gp: GatewayPayment) -> tuple[PaymentState, str | None]:
    """What the gateway's word about `gp` makes of our payment (and why, for a hold)."""
    if gp.status in ("created", "authorized"):
        return PaymentState.PENDING, None
    if gp.status == "failed":
        return PaymentState.FAILED, None
    if gp.status == "refunded" and payment.state not in (PaymentState.CAPTURED, PaymentState.REFUNDED):
        return PaymentState.HELD, "the gateway reports it captured and refunded before we saw it captured"
    if gp.status == "refunded":
        return payment.state, None  # refunds are recorded through our refund service and its events
    # captured
    if gp.currency.upper() != "INR" or gp.amount_paise != to_paise(payment.amount):
        return PaymentState.HELD, (f"the gateway received {gp.currency} {gp.amount} for an order of "
                                   f"INR {payment.amount}")
    return PaymentState.CAPTURED, None


def apply_gateway_payment(payment: Payment, gp: GatewayPayment, source: str) -> str:
    """Bring a locked payment in line with what the gateway says about one of its payments. Idempotent:
    a replay, or a callback and a webhook for the same payment, change it once. Returns what happened."""
    if gp.order_id and payment.gateway_order_id and gp.order_id != payment.gateway_order_id:
        security_log.warning("gateway payment %r names order %r, not %s; ignored", gp.id, gp.order_id,
                             payment.gateway_order_id)
        return "ignored: another order"
    tracked = payment.gateway_payment_id
    if tracked and tracked != gp.id:
        if gp.status in ("created", "failed"):
            return "ignored: another attempt on the order"
        if payment.state not in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
            log.error("payment %s: a second gateway payment %s on order %s needs review", payment.reference,
                      gp.id, payment.gateway_order_id)
            return "review: second payment on the order"
    target, reason = _target_state(payment, gp)
    if target == PaymentState.CAPTURED and payment.state in CREDITED:
        # Credited once already (and perhaps refunded since): a late or replayed "captured" changes nothing.
        payment.gateway_payment_id = payment.gateway_payment_id or gp.id
        return f"unchanged: {payment.state.value}"
    if target == payment.state:
        payment.gateway_payment_id = payment.gateway_payment_id or gp.id
        return f"unchanged: {target.value}"
    if not can_move(payment.state, target):
        log.info("payment %s: %s says %s, but a %s payment stays so", payment.reference, source, gp.status,
                 payment.state.value)
        return f"kept {payment.state.value}: {source} says {gp.status}"
    payment.gateway_payment_id = gp.id
    if target == PaymentState.CAPTURED:
        _capture(payment, gp.amount, source)
    elif target == PaymentState.HELD:
        _hold(payment, gp.amount, reason or "held", source)
    elif target == PaymentState.FAILED:
        _fail(payment, gp.error or "the payment failed at the bank", source)
    else:
        payment.state = target
    return target.value


def start_payment(account: Account, user, amount: Decimal, method: PaymentMethod, idempotency_key: str
                  ) -> tuple[Payment, bool]:
    """A new pay attempt, or the one this idempotency key already started (a double tap, a retry, a back-button
    resubmit): (payment, created). The amount is checked against the bounds by the caller's form."""
    if method not in DIGITAL_METHODS:
        raise PaymentError.refused("choose_method")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise PaymentError.refused("form_expired")
    gateway = get_gateway()
    reference = new_reference()
    db.session.execute(insert_ignore(db.session, Payment.__table__, ["idempotency_key"]).values(
        {"account_id": account.id, "user_id": user.id, "amount": amount, "method": method,
         "state": PaymentState.CREATED, "reference": reference,
         "idempotency_key": idempotency_key, "gateway": gateway.name,
         "refunded_amount": ZERO}))
    payment = _locked(Payment, Payment.idempotency_key == idempotency_key)
    if payment.account_id != account.id or payment.user_id != user.id:
        raise PaymentError.refused("form_expired")
    created = payment.reference == reference
    if created:
        audit.record("payment.started", payment, {"amount": str(amount), "method": method.value}, actor=user)
    return payment, created


def ensure_order(payment: Payment, gateway: Gateway | None = None) -> None:
    """Give a (locked) attempt its gateway order, once. A UPI attempt then waits for the bank: pending."""
    gateway = gateway or get_gateway()
    if payment.gateway_order_id is None:
        account = db.session.get(Account, payment.account_id)
        order = gateway.create_order(payment.amount, payment.reference,
                                     {"reference": payment.reference, "consumer_number": account.consumer_number})
        if order.amount_paise != to_paise(payment.amount):
            raise GatewayError("the gateway created an order for another amount")
        payment.gateway_order_id = order.id
    if payment.method == PaymentMethod.UPI and payment.state == PaymentState.CREATED:
        payment.state = PaymentState.PENDING


def checkout_returned(order_id: str, payment_id: str, signature: str | None) -> Payment | None:
    """The customer's browser came back from the gateway's checkout with a signed result. Checked, then the
    gateway is asked for the payment itself (its amount and state). None if the signature or order is wrong."""
    gateway = get_gateway()
    if not gateway.verify_checkout(order_id, payment_id, signature):
        security_log.warning("checkout callback with a bad signature refused (order %r)", order_id[:64])
        return None
    payment = _locked(Payment, Payment.gateway_order_id == order_id)
    if payment is None:
        security_log.warning("checkout callback for an order we do not know (%r)", order_id[:64])
        return None
    try:
        gp = gateway.fetch_payment(payment_id)
    except GatewayError as error:
        log.warning("payment %s: could not ask the gateway after checkout (%s); waiting for its webhook",
                    payment.reference, error)
        if payment.state == PaymentState.CREATED:
            payment.state = PaymentState.PENDING
            payment.gateway_payment_id = payment.gateway_payment_id or payment_id
        return payment
    if gp.order_id != order_id:
        security_log.warning("checkout callback: payment %r is not on order %r", payment_id[:64], order_id[:64])
        return payment
    apply_gateway_payment(payment, gp, "callback")
    return payment
