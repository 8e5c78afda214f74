"""Refunds, by staff: through the gateway for online payments, recorded for counter ones."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app import audit
from app.billing import ledger
from app.billing.models import LedgerKind
from app.db import ZERO, today_in_india
from app.extensions import db
from app.payments.base import (
    IDEMPOTENCY_KEY,
    ONE_PAISA,
    RefundError,
    lock_payment,
    may_act_alone,
    rupees,
    signatories,
)
from app.payments.gateways import (
    GatewayError,
    get_gateway,
)
from app.payments.models import (
    MoneyApproval,
    Payment,
    PaymentState,
    Refund,
    RefundState,
)
from app.payments.signals import payment_refunded
from app.payments.states import check_transition


def check_refund(payment: Payment | None, amount: Decimal, reason: str) -> Payment:
    """Refuse a refund that cannot be made (asked when it is proposed, and again when it is made)."""
    if not (reason or "").strip():
        raise RefundError.refused("refund_reason")
    if payment is None:
        raise RefundError.refused("no_payment")
    if payment.state != PaymentState.CAPTURED:
        raise RefundError.refused("refund_state", state=payment.state.value)
    if amount != amount.quantize(ONE_PAISA) or amount <= 0:
        raise RefundError.refused("refund_amount")
    if amount > payment.refundable_amount:
        raise RefundError.refused("refund_at_most", amount=payment.refundable_amount)
    return payment


def refunded_with(payment, amount: Decimal) -> Decimal:
    """All that would have been refunded on this payment with `amount`: the limit on acting alone counts it all,
    so one refund split in several small ones still needs a second person."""
    return (payment.refunded_amount or ZERO) + amount


def refund_payment(payment_id: int, amount: Decimal, reason: str, actor, idempotency_key: str,
                   approval: MoneyApproval | None = None) -> Refund:
    """Give back some or all of a captured payment: through the gateway for gateway payments, and always as a
    REFUND entry on the ledger. Partial refunds add up to at most the amount credited; the payment becomes
    `refunded` when all of it is. The same idempotency key returns the same refund.

    Money leaves only by an administrator within APPROVAL_LIMIT, or by the `approval` a second one gave (see
    approvals.py); the audit names who proposed and who approved."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundError.refused("refund_reason")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise RefundError.refused("form_expired")
    payment = lock_payment(payment_id)
    if payment is None:
        raise RefundError.refused("no_payment")
    if approval is None and not may_act_alone(actor, refunded_with(payment, amount)):
        raise RefundError.refused("needs_approval")
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.payment_id != payment.id:
            raise RefundError.refused("form_expired")
        return existing
    check_refund(payment, amount, reason)
    refund = Refund(payment_id=payment.id, amount=amount, idempotency_key=idempotency_key, reason=reason[:200],
                    created_by_id=getattr(actor, "id", None), state=RefundState.PROCESSED)
    db.session.add(refund)
    db.session.flush()
    if payment.gateway and payment.gateway_payment_id:
        try:
            answer = get_gateway().refund(payment.gateway_payment_id, amount, idempotency_key,
                                          {"reference": payment.reference, "receipt": payment.receipt_number or ""})
        except GatewayError as error:
            raise RefundError.refused("refund_gateway_error", error=str(error)) from None
        refund.gateway_refund_id = answer.id
        # A status we do not know (Razorpay may add one) is treated as not returned yet: reconcile asks again.
        refund.state = RefundState(answer.status) if answer.status in set(RefundState) else RefundState.PENDING
        if refund.state == RefundState.FAILED:
            raise RefundError.refused("refund_refused")
    entry = ledger.post(payment.account_id, LedgerKind.REFUND, amount, today_in_india(),
                        f"Refund of {rupees(amount)} from {payment.receipt_number}: {reason}"[:200], actor=actor)
    refund.ledger_entry_id = entry.id
    payment.refunded_amount = (payment.refunded_amount or ZERO) + amount
    if payment.refunded_amount == payment.credited_amount:
        check_transition(payment.state, PaymentState.REFUNDED)
        payment.state = PaymentState.REFUNDED
    audit.record("payment.refunded", payment, {"amount": str(amount), "reason": reason[:200],
                                               "refund": refund.id, "left": str(payment.refundable_amount),
                                               **signatories(approval, actor)}, actor=actor)
    payment_refunded.send(payment, refund=refund)
    return refund
