"""Gateway webhooks: stored once before they are processed, then applied to their payment or refund."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from app import audit
from app.billing import ledger
from app.billing.models import LedgerEntry, LedgerKind
from app.db import insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.payments.base import (
    PAYMENT_EVENTS,
    SYSTEM,
    UNKNOWN_REFUND_WAIT,
    _locked,
    lock_payment,
    security_log,
)
from app.payments.capture import apply_gateway_payment
from app.payments.gateways import (
    GatewayPayment,
    WebhookEvent,
    get_gateway,
)
from app.payments.models import (
    Payment,
    PaymentEvent,
    PaymentState,
    Refund,
    RefundState,
)
from app.payments.states import check_transition
from app.payments.upi import REFERENCE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookResult:
    status: int  # the HTTP status to answer the gateway with
    outcome: str


def receive_webhook(raw_body: bytes, signature: str | None, event_id: str | None, remote: str | None
                    ) -> WebhookResult:
    """Verify, store, then process one webhook delivery. A bad signature writes nothing (400); a replay changes
    nothing (200); an event for an order we do not know yet is kept unprocessed and answered 409, so the gateway
    retries, and reconcile matches it later."""
    gateway = get_gateway()
    if not gateway.verify_webhook(raw_body, signature):
        security_log.warning("webhook with a bad signature refused: %d bytes from %s", len(raw_body), remote)
        return WebhookResult(400, "bad signature")
    try:
        event = gateway.parse_webhook(raw_body)
    except ValueError:
        log.warning("signed webhook that is not an event: %d bytes from %s", len(raw_body), remote)
        return WebhookResult(400, "not an event")
    event_id = (event_id or "").strip()[:100] or "sha256:" + hashlib.sha256(raw_body).hexdigest()
    db.session.execute(insert_ignore(db.session, PaymentEvent.__table__, ["gateway", "event_id"]).values(
        {"gateway": gateway.name, "event_id": event_id, "event_type": event.type[:60],
         "payload": kept_payload(raw_body)}))
    stored = _locked(PaymentEvent, PaymentEvent.gateway == gateway.name, PaymentEvent.event_id == event_id)
    if stored.processed_at is not None:
        return WebhookResult(200, "already processed")
    return _process_event(stored, event)


# What an event's entities keep when stored: what matching and reconciling read. A gateway also sends the payer's
# email, phone, UPI id and card details; those are not ours to keep (they would sit in plain text for ever).
KEPT_FIELDS = frozenset({
    "id", "entity", "amount", "currency", "status", "order_id", "invoice_id", "method", "captured", "notes",
    "created_at", "payment_id", "receipt", "amount_paid", "amount_due", "amount_refunded", "refund_status",
    "error_code", "error_description", "error_reason", "error_source", "error_step", "fee", "tax", "speed_processed",
})


def kept_payload(raw_body: bytes) -> str:
    """The webhook body as stored: every entity (payment, refund, order) without the payer's personal details."""
    body = json.loads(raw_body)
    for item in (body.get("payload") or {}).values():
        entity = item.get("entity") if isinstance(item, dict) else None
        if isinstance(entity, dict):
            item["entity"] = {key: value for key, value in entity.items() if key in KEPT_FIELDS}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _process_event(stored: PaymentEvent, event: WebhookEvent) -> WebhookResult:
    outcome, payment_id = _dispatch(stored, event)
    if outcome is None:
        stored.outcome = "waiting: not matched yet"
        return WebhookResult(409, "waiting: not matched yet")
    stored.processed_at = utcnow()
    stored.outcome = outcome[:60]
    stored.payment_id = payment_id
    return WebhookResult(200, outcome)


def _find_payment(gp: GatewayPayment) -> Payment | None:
    payment = _locked(Payment, Payment.gateway_payment_id == gp.id)
    if payment is None and gp.order_id:
        payment = _locked(Payment, Payment.gateway_order_id == gp.order_id)
    reference = (gp.notes or {}).get("reference")
    if payment is None and isinstance(reference, str) and REFERENCE.match(reference):
        payment = _locked(Payment, Payment.reference == reference)  # a UPI credit that names our `tr`
    return payment


def _dispatch(stored: PaymentEvent, event: WebhookEvent) -> tuple[str | None, int | None]:
    if event.type in PAYMENT_EVENTS and event.payment is not None:
        payment = _find_payment(event.payment)
        if payment is None:
            return None, None
        return apply_gateway_payment(payment, event.payment, "webhook"), payment.id
    if event.type.startswith("refund.") and event.refund is not None:
        return _apply_refund_event(stored, event)
    return f"ignored: {event.type}", None


def _apply_refund_event(stored: PaymentEvent, event: WebhookEvent) -> tuple[str | None, int | None]:
    refund = _locked(Refund, Refund.gateway_refund_id == event.refund.id)
    if refund is None:
        if utcnow() - stored.received_at < UNKNOWN_REFUND_WAIT:
            return None, None  # perhaps our own refund call, not yet committed: let the gateway retry
        log.error("refund %r at the gateway was not made here: record it by hand", event.refund.id)
        return "review: refund not made here", None
    if event.type == "refund.failed" and refund.state != RefundState.FAILED:
        _refund_failed(refund)
    elif event.type == "refund.processed" and refund.state == RefundState.PENDING:
        refund.state = RefundState.PROCESSED
    return f"refund {refund.state}", refund.payment_id


def _refund_failed(refund: Refund) -> None:
    """The gateway could not return the money: undo the REFUND entry; the payment is credited again."""
    payment = lock_payment(refund.payment_id)
    refund.state = RefundState.FAILED
    if refund.ledger_entry_id is not None:
        entry = db.session.get(LedgerEntry, refund.ledger_entry_id)
        ledger.post(payment.account_id, LedgerKind.REVERSAL, -entry.amount, today_in_india(),
                    f"Refund of {payment.receipt_number} failed at the gateway", reverses_id=entry.id)
    payment.refunded_amount -= refund.amount
    if payment.state == PaymentState.REFUNDED:
        check_transition(payment.state, PaymentState.CAPTURED)
        payment.state = PaymentState.CAPTURED
    audit.record("refund.failed", payment, {"refund": refund.id, "amount": str(refund.amount)}, actor=SYSTEM)
