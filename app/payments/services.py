"""Payments: the only code that writes payments, payment_events and refunds (the ledger through ledger.post).

Exactly once, and nothing lost:
- a pay attempt is keyed by its idempotency key (unique): INSERT … ON CONFLICT DO NOTHING, then read it back;
- a webhook is stored (unique per gateway and event id) before it is processed, and processed once;
- every change of a payment's state happens with its row locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
  write transactions already queue, see db.begin_write) and goes through states.check_transition;
- the ledger has one PAYMENT entry per payment and one REBATE per bill (unique constraints back this up).

Services flush; the request or the CLI command commits (reconcile commits after each payment it checks).
One module per use case: base (limits, refusals, references, locks), rebates, capture (state changes and
paying online), webhooks, reconcile, counter (counter payments and staff decisions), refunds, approvals (the
maker-checker for money leaving or credited by staff), settlements (the reconciliation page: attempts and webhooks
settled by a person, settlement files matched against our payments). This module is their public face for the
views, the CLI and the jobs.
"""

from app.payments.approvals import approve, confirm_or_propose, propose, refund_or_propose, reject
from app.payments.base import (
    AmountOutOfRange,
    CashLimitExceeded,
    PaymentError,
    RefundError,
    amount_bounds,
    approval_limit,
    check_amount,
    lock_payment,
    may_act_alone,
    new_idempotency_key,
    new_reference,
    receipt_number_for,
    rupees,
)
from app.payments.capture import apply_gateway_payment, checkout_returned, ensure_order, start_payment
from app.payments.counter import (
    accept_held,
    bounce_charge,
    bounce_instrument,
    cash_received_today,
    check_counter_payment,
    clear_instrument,
    confirm_upi_by_staff,
    record_counter_payment,
)
from app.payments.rebates import RebateOffer, rebate_offer
from app.payments.reconcile import ReconcileSummary, reconcile
from app.payments.refunds import refund_payment
from app.payments.webhooks import WebhookResult, receive_webhook

__all__ = [
    "AmountOutOfRange", "CashLimitExceeded", "PaymentError", "RebateOffer", "ReconcileSummary", "RefundError",
    "WebhookResult", "accept_held", "amount_bounds", "apply_gateway_payment", "approval_limit", "approve",
    "bounce_charge", "bounce_instrument", "cash_received_today", "check_amount", "check_counter_payment",
    "checkout_returned", "clear_instrument", "confirm_or_propose", "confirm_upi_by_staff", "ensure_order",
    "lock_payment",
    "may_act_alone", "new_idempotency_key", "new_reference", "propose", "rebate_offer",
    "receipt_number_for", "receive_webhook", "reconcile", "record_counter_payment", "refund_or_propose",
    "refund_payment", "reject", "rupees", "start_payment",
]
