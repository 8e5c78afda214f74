"""Reconciliation: ask the gateway about attempts still open, match webhooks that came before their order."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_, select

from app.db import begin_write, utcnow
from app.extensions import db
from app.payments.base import (
    ABANDON_AFTER,
    ABANDON_UPI_AFTER,
    LATE_AUTHORISATION_WINDOW,
    LATE_RECHECK_EVERY,
    _locked,
    lock_payment,
)
from app.payments.capture import _fail, apply_gateway_payment
from app.payments.gateways import (
    Gateway,
    GatewayError,
    GatewayPayment,
    get_gateway,
)
from app.payments.models import (
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
)
from app.payments.webhooks import _process_event
from app.taskqueue import in_own_transaction

log = logging.getLogger(__name__)


@dataclass
class ReconcileSummary:
    checked: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    events_matched: int = 0
    events_waiting: int = 0

    def __str__(self) -> str:
        changed = ", ".join(f"{count} {state}" for state, count in sorted(self.changed.items())) or "none changed"
        return (f"{self.checked} attempts checked ({changed}), {self.errors} gateway errors; "
                f"{self.events_matched} waiting webhooks matched, {self.events_waiting} still waiting")


def reconcile(older_than_minutes: int, limit: int = 200) -> ReconcileSummary:
    """Ask the gateway about attempts still open after `older_than_minutes` (and about recently failed ones, for
    late authorisations), then process stored webhooks that were waiting for their order. Each attempt and each
    webhook is a transaction of its own (a gateway that fails on one does not undo the others)."""
    gateway = get_gateway()
    now = utcnow()
    summary = ReconcileSummary()
    for payment_id in _open_attempts(gateway, now, now - timedelta(minutes=older_than_minutes), limit):
        try:
            before, after, asked = in_own_transaction(_reconcile_one, gateway, payment_id, now)
        except GatewayError as error:
            log.warning("reconcile: could not ask about payment %s: %s", payment_id, error)
            summary.errors += 1
            continue
        summary.checked += asked
        if after != before:
            summary.changed[after.value] = summary.changed.get(after.value, 0) + 1
    for event_id in _waiting_events(gateway):
        outcome = in_own_transaction(_rematch_event, gateway, event_id)
        summary.events_matched += outcome == "matched"
        summary.events_waiting += outcome == "waiting"
    return summary


def ask_now(payment_id: int) -> tuple[PaymentState, PaymentState]:
    """Ask the gateway about one attempt now (staff, from the reconciliation page): its state before and after.
    GatewayError when the gateway cannot be asked."""
    gateway = get_gateway()
    return _reconcile_one(gateway, payment_id, utcnow())[:2]


def _open_attempts(gateway: Gateway, now, cutoff, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(Payment.id).where(
            Payment.gateway == gateway.name, Payment.created_at < cutoff,
            or_(and_(Payment.state.in_([PaymentState.CREATED, PaymentState.PENDING]),
                     or_(Payment.checked_at.is_(None), Payment.checked_at < cutoff)),
                and_(Payment.state == PaymentState.FAILED, Payment.created_at > now - LATE_AUTHORISATION_WINDOW,
                     or_(Payment.checked_at.is_(None), Payment.checked_at < now - LATE_RECHECK_EVERY))))
        .order_by(Payment.checked_at.asc().nulls_first(), Payment.created_at).limit(limit)))


def _reconcile_one(gateway: Gateway, payment_id: int, now) -> tuple[PaymentState, PaymentState, bool]:
    """One attempt's state before and after, and whether the gateway was asked about it."""
    begin_write(db.session)
    payment = lock_payment(payment_id)
    before = payment.state
    if payment.gateway_order_id is None:  # the gateway was never reached (its order could not be created)
        if now - payment.created_at > ABANDON_AFTER and payment.state == PaymentState.CREATED:
            _fail(payment, "the payment service could not be reached", "reconcile")
        payment.checked_at = now
        return before, payment.state, False
    found = gateway.fetch_order_payments(payment.gateway_order_id)
    best = _most_telling(found, payment.gateway_payment_id)
    if best is not None:
        apply_gateway_payment(payment, best, "reconcile")
    elif now - payment.created_at > _abandon_after(payment) and payment.state in (PaymentState.CREATED,
                                                                                  PaymentState.PENDING):
        _fail(payment, "no payment reached the gateway (abandoned)", "reconcile")
    payment.checked_at = now
    return before, payment.state, True


def _abandon_after(payment: Payment) -> timedelta:
    return ABANDON_UPI_AFTER if payment.method == PaymentMethod.UPI else ABANDON_AFTER


_TELLING = {"captured": 0, "refunded": 1, "authorized": 2, "created": 3, "failed": 4}


def _most_telling(found: list[GatewayPayment], tracked: str | None) -> GatewayPayment | None:
    """Of an order's payments, the one that says most: a captured one over an authorised one over a failed one."""
    if not found:
        return None
    return min(found, key=lambda gp: (_TELLING[gp.status], gp.id != tracked))


def _waiting_events(gateway: Gateway, limit: int = 500) -> list[int]:
    return list(db.session.scalars(select(PaymentEvent.id).where(PaymentEvent.gateway == gateway.name,
                                                                  PaymentEvent.processed_at.is_(None))
                                   .order_by(PaymentEvent.received_at).limit(limit)))


def _rematch_event(gateway: Gateway, event_id: int) -> str:
    """A stored webhook that came before its order: "matched" once its order is known, else "waiting" ("done"
    when another run processed it meanwhile, "unreadable" when it cannot be parsed)."""
    begin_write(db.session)
    stored = _locked(PaymentEvent, PaymentEvent.id == event_id)
    if stored.processed_at is not None:
        return "done"
    try:
        event = gateway.parse_webhook(stored.payload.encode())
    except ValueError:
        stored.processed_at, stored.outcome = utcnow(), "unreadable"
        return "unreadable"
    if _process_event(stored, event).status == 200:
        return "matched"
    if utcnow() - stored.received_at > timedelta(days=1):
        log.error("webhook %r has waited over a day for the order it names: staff should look", stored.event_id)
    return "waiting"
