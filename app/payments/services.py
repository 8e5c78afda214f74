"""Payments: the only code that writes payments, payment_events and refunds (the ledger through ledger.post).

Exactly once, and nothing lost:
- a pay attempt is keyed by its idempotency key (unique): INSERT … ON CONFLICT DO NOTHING, then read it back;
- a webhook is stored (unique per gateway and event id) before it is processed, and processed once;
- every change of a payment's state happens with its row locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
  write transactions already queue, see db.begin_write) and goes through states.check_transition;
- the ledger has one PAYMENT entry per payment and one REBATE per bill (unique constraints back this up).

Services flush; the request or the CLI command commits (reconcile commits after each payment it checks).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency
from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.billing import ledger
from app.billing.bills import latest_bills, payment_terms, prompt_rebate
from app.billing.models import LedgerEntry, LedgerKind
from app.db import INDIA, ZERO, begin_write, today_in_india, utcnow
from app.extensions import db
from app.payments.gateways import (
    Gateway,
    GatewayError,
    GatewayPayment,
    WebhookEvent,
    get_gateway,
    to_paise,
)
from app.payments.models import (
    COUNTER_METHODS,
    DIGITAL_METHODS,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Refund,
)
from app.payments.states import CREDITED, TransitionRefused, can_move, check_transition
from app.payments.upi import REFERENCE

log = logging.getLogger(__name__)
security_log = logging.getLogger("dtech.security")

ONE_PAISA = Decimal("0.01")
MIN_AMOUNT = Decimal("1.00")
ADVANCE_CEILING = Decimal("100000.00")  # an advance may go up to ₹1,00,000 (or ten times the amount due)
COUNTER_MAX = Decimal("1000000.00")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CHEQUE_NUMBER = re.compile(r"^[0-9]{6}$")
UTR = re.compile(r"^[0-9]{12}$")
# The customer paid on the day they started paying, if the bank confirms within this (for prompt rebates).
REBATE_GRACE = timedelta(days=3)
# An attempt the gateway knows no payment for, this long after it began, was abandoned. A UPI attempt waits
# longer: a customer's UPI app may pay our VPA directly, which only the bank statement shows (staff confirm it).
ABANDON_AFTER = timedelta(hours=2)
ABANDON_UPI_AFTER = timedelta(days=3)
# Failed attempts are asked about again (hourly) this long, for a late authorisation.
LATE_AUTHORISATION_WINDOW = timedelta(days=5)
LATE_RECHECK_EVERY = timedelta(hours=1)
# A refund event that matches no refund of ours waits this long (our own refund call may not be committed yet).
UNKNOWN_REFUND_WAIT = timedelta(hours=1)
PAYMENT_EVENTS = frozenset({"payment.authorized", "payment.captured", "payment.failed", "order.paid"})
METHOD_LABELS = {PaymentMethod.UPI: "UPI", PaymentMethod.GATEWAY: "online", PaymentMethod.CASH: "cash",
                 PaymentMethod.CHEQUE: "cheque", PaymentMethod.DEMAND_DRAFT: "demand draft"}


# Changes reported by the gateway (webhook, callback, reconcile) are audited without a person as the actor.
SYSTEM = type("System", (), {"id": None})()


class PaymentError(Exception):
    """A refusal the person can act on; the message is safe to show."""


class AmountOutOfRange(PaymentError):
    pass


class CashLimitExceeded(PaymentError):
    pass


class RefundError(PaymentError):
    pass


# --- small helpers ---


def new_reference() -> str:
    """Our payment reference, also the UPI `tr`: 16 capital letters and digits."""
    reference = "DT" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(14))
    assert REFERENCE.match(reference)
    return reference


def rupees(amount: Decimal) -> str:
    """₹1,00,000.00: Indian grouping, for messages."""
    return format_currency(amount, "INR", locale="en_IN")


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


def receipt_number_for(payment: Payment) -> str:
    """Unique by construction (the payment's id), so concurrent captures never race for a number."""
    return f"RCP{payment.id:09d}"


def amount_bounds(due: Decimal) -> tuple[Decimal, Decimal]:
    """What a customer may pay now: ₹1 up to ten times the amount due or ₹1,00,000, whichever is more."""
    return MIN_AMOUNT, max(due * 10, ADVANCE_CEILING).quantize(ONE_PAISA)


def check_amount(amount: Decimal, due: Decimal) -> None:
    low, high = amount_bounds(due)
    if amount != amount.quantize(ONE_PAISA):
        raise AmountOutOfRange("Enter rupees and paise only, like 1234.50.")
    if amount < low or amount > high:
        raise AmountOutOfRange(f"Enter an amount from {rupees(low)} to {rupees(high)}.")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert_ignore(model, values: dict, conflict: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: of two concurrent inserts with one key, one row results."""
    insert = pg_insert if _dialect() == "postgresql" else sqlite_insert
    db.session.execute(insert(model.__table__).values(**values).on_conflict_do_nothing(index_elements=conflict))


def _locked(model, *criteria):
    """The row, locked for this transaction (PostgreSQL) and re-read from the database."""
    return db.session.scalar(select(model).where(*criteria).with_for_update()
                             .execution_options(populate_existing=True))


def lock_payment(payment_id: int) -> Payment | None:
    return _locked(Payment, Payment.id == payment_id)


def _lock_account(account_id: int) -> Account | None:
    return _locked(Account, Account.id == account_id)


def _india_day(moment: datetime) -> date:
    return moment.astimezone(INDIA).date()


# --- rebates ---


@dataclass(frozen=True)
class RebateOffer:
    """What paying the whole amount due now would earn on the bill in force."""

    bill_id: int
    bill_number: str
    balance: Decimal  # owed now
    prompt: Decimal
    prompt_by: date | None
    digital: Decimal
    total: Decimal

    @property
    def pay_amount(self) -> Decimal:
        """Pay this much (or more) and the bill is settled with the rebates."""
        return self.balance - self.total


def rebate_offer(account_id: int, day: date, digital: bool, balance: Decimal | None = None) -> RebateOffer | None:
    """The prompt-payment and (for digital payments) digital-payment rebates that paying the amount due on
    `day` would earn, from the tariff's payment terms of the bill in force; None when there are none."""
    bills = latest_bills(account_id, limit=1)
    if not bills:
        return None
    bill = bills[0]
    balance = ledger.balance(account_id) if balance is None else balance
    if balance <= 0 or _rebate_given(bill.id):
        return None
    terms = payment_terms(bill)
    prompt, prompt_by = prompt_rebate(bill, terms, day)
    digital_amount = ZERO
    if digital and terms.digital_rebate is not None and day <= bill.due_date:
        digital_amount = (bill.current_charges * terms.digital_rebate.percent / 100).quantize(ONE_PAISA, ROUND_HALF_UP)
        if terms.digital_rebate.cap is not None:
            digital_amount = min(digital_amount, terms.digital_rebate.cap)
    total = min(prompt + digital_amount, balance)
    if total <= 0:
        return None
    return RebateOffer(bill.id, bill.number, balance, prompt, prompt_by, digital_amount, total)


def _rebate_given(bill_id: int) -> bool:
    return db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == LedgerKind.REBATE,
                                                          LedgerEntry.bill_id == bill_id)) is not None


def _paid_on(payment: Payment) -> date:
    """The day the customer paid: when they started, if the bank confirmed within REBATE_GRACE."""
    if utcnow() - payment.created_at <= REBATE_GRACE:
        return _india_day(payment.created_at)
    return today_in_india()


def _grant_rebate(payment: Payment, balance_before: Decimal, received: Decimal, actor=None) -> Decimal:
    offer = rebate_offer(payment.account_id, _paid_on(payment), payment.method in DIGITAL_METHODS, balance_before)
    if offer is None or received < offer.pay_amount:
        return ZERO
    parts = []
    if offer.prompt:
        parts.append(f"prompt payment {rupees(offer.prompt)}")
    if offer.digital:
        parts.append(f"digital payment {rupees(offer.digital)}")
    try:
        with db.session.begin_nested():  # one REBATE per bill: a parallel payment may have got there first
            ledger.post(payment.account_id, LedgerKind.REBATE, -offer.total, today_in_india(),
                        f"Rebate on bill {offer.bill_number}: {', '.join(parts)}"[:200], bill_id=offer.bill_id,
                        payment_id=payment.id, actor=actor)
    except IntegrityError:
        return ZERO
    return offer.total


# --- state changes (the payment is locked by the caller) ---


def _capture(payment: Payment, received: Decimal, source: str, actor=None) -> None:
    check_transition(payment.state, PaymentState.CAPTURED)
    _lock_account(payment.account_id)  # a connection's balance and rebate decisions are taken one at a time
    balance_before = ledger.balance(payment.account_id)
    payment.state = PaymentState.CAPTURED
    payment.received_amount = received
    payment.captured_at = utcnow()
    payment.failure_reason = None
    payment.receipt_number = payment.receipt_number or receipt_number_for(payment)
    ledger.post(payment.account_id, LedgerKind.PAYMENT, -received, today_in_india(),
                f"Payment {payment.receipt_number} ({METHOD_LABELS[payment.method]})", payment_id=payment.id,
                actor=actor)
    rebate = _grant_rebate(payment, balance_before, received, actor)
    details = {"amount": str(received), "receipt": payment.receipt_number, "source": source}
    if rebate:
        details["rebate"] = str(rebate)
    audit.record("payment.captured", payment, details, actor=actor or SYSTEM)


def _hold(payment: Payment, received: Decimal, reason: str, source: str, actor=None) -> None:
    check_transition(payment.state, PaymentState.HELD)
    payment.state = PaymentState.HELD
    payment.received_amount = received
    payment.failure_reason = reason[:200]
    log.warning("payment %s held for review: %s", payment.reference, reason)
    audit.record("payment.held", payment, {"received": str(received), "expected": str(payment.amount),
                                           "reason": reason[:200], "source": source}, actor=actor or SYSTEM)


def _fail(payment: Payment, reason: str, source: str) -> None:
    check_transition(payment.state, PaymentState.FAILED)
    payment.state = PaymentState.FAILED
    payment.failure_reason = reason[:200]
    audit.record("payment.failed", payment, {"reason": reason[:200], "source": source}, actor=SYSTEM)


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


# --- paying online ---


def start_payment(account: Account, user, amount: Decimal, method: PaymentMethod, idempotency_key: str
                  ) -> tuple[Payment, bool]:
    """A new pay attempt, or the one this idempotency key already started (a double tap, a retry, a back-button
    resubmit): (payment, created). The amount is checked against the bounds by the caller's form."""
    if method not in DIGITAL_METHODS:
        raise PaymentError("Choose how to pay.")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise PaymentError("This form has expired. Please reload the page and try again.")
    gateway = get_gateway()
    reference = new_reference()
    _insert_ignore(Payment, {"account_id": account.id, "user_id": user.id, "amount": amount, "method": method,
                             "state": PaymentState.CREATED, "reference": reference,
                             "idempotency_key": idempotency_key, "gateway": gateway.name,
                             "refunded_amount": ZERO}, ["idempotency_key"])
    payment = _locked(Payment, Payment.idempotency_key == idempotency_key)
    if payment.account_id != account.id or payment.user_id != user.id:
        raise PaymentError("This form has expired. Please reload the page and try again.")
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


# --- webhooks ---


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
    _insert_ignore(PaymentEvent, {"gateway": gateway.name, "event_id": event_id, "event_type": event.type[:60],
                                  "payload": raw_body.decode("utf-8", "replace")}, ["gateway", "event_id"])
    stored = _locked(PaymentEvent, PaymentEvent.gateway == gateway.name, PaymentEvent.event_id == event_id)
    if stored.processed_at is not None:
        return WebhookResult(200, "already processed")
    return _process_event(stored, event)


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
    if event.type == "refund.failed" and refund.state != "failed":
        _refund_failed(refund)
    elif event.type == "refund.processed" and refund.state == "pending":
        refund.state = "processed"
    return f"refund {refund.state}", refund.payment_id


def _refund_failed(refund: Refund) -> None:
    """The gateway could not return the money: undo the REFUND entry; the payment is credited again."""
    payment = lock_payment(refund.payment_id)
    refund.state = "failed"
    if refund.ledger_entry_id is not None:
        entry = db.session.get(LedgerEntry, refund.ledger_entry_id)
        ledger.post(payment.account_id, LedgerKind.REVERSAL, -entry.amount, today_in_india(),
                    f"Refund of {payment.receipt_number} failed at the gateway", reverses_id=entry.id)
    payment.refunded_amount -= refund.amount
    if payment.state == PaymentState.REFUNDED:
        check_transition(payment.state, PaymentState.CAPTURED)
        payment.state = PaymentState.CAPTURED
    audit.record("refund.failed", payment, {"refund": refund.id, "amount": str(refund.amount)}, actor=SYSTEM)


# --- reconciliation ---


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
    late authorisations), then process stored webhooks that were waiting for their order. Commits after each."""
    gateway = get_gateway()
    now = utcnow()
    cutoff = now - timedelta(minutes=older_than_minutes)
    summary = ReconcileSummary()
    begin_write(db.session)
    ids = list(db.session.scalars(
        select(Payment.id).where(
            Payment.gateway == gateway.name, Payment.created_at < cutoff,
            or_(and_(Payment.state.in_([PaymentState.CREATED, PaymentState.PENDING]),
                     or_(Payment.checked_at.is_(None), Payment.checked_at < cutoff)),
                and_(Payment.state == PaymentState.FAILED, Payment.created_at > now - LATE_AUTHORISATION_WINDOW,
                     or_(Payment.checked_at.is_(None), Payment.checked_at < now - LATE_RECHECK_EVERY))))
        .order_by(Payment.checked_at.asc().nulls_first(), Payment.created_at).limit(limit)))
    db.session.commit()
    for payment_id in ids:
        begin_write(db.session)
        payment = lock_payment(payment_id)
        before = payment.state
        if payment.gateway_order_id is None:  # the gateway was never reached (its order could not be created)
            if now - payment.created_at > ABANDON_AFTER and payment.state == PaymentState.CREATED:
                _fail(payment, "the payment service could not be reached", "reconcile")
                summary.changed["failed"] = summary.changed.get("failed", 0) + 1
            payment.checked_at = now
            db.session.commit()
            continue
        try:
            found = gateway.fetch_order_payments(payment.gateway_order_id)
        except GatewayError as error:
            db.session.rollback()
            log.warning("reconcile: could not ask about payment %s: %s", payment_id, error)
            summary.errors += 1
            continue
        best = _most_telling(found, payment.gateway_payment_id)
        if best is not None:
            apply_gateway_payment(payment, best, "reconcile")
        elif now - payment.created_at > _abandon_after(payment) and payment.state in (PaymentState.CREATED,
                                                                                      PaymentState.PENDING):
            _fail(payment, "no payment reached the gateway (abandoned)", "reconcile")
        payment.checked_at = now
        summary.checked += 1
        if payment.state != before:
            summary.changed[payment.state.value] = summary.changed.get(payment.state.value, 0) + 1
        db.session.commit()
    _rematch_events(gateway, summary)
    return summary


def _abandon_after(payment: Payment) -> timedelta:
    return ABANDON_UPI_AFTER if payment.method == PaymentMethod.UPI else ABANDON_AFTER


_TELLING = {"captured": 0, "refunded": 1, "authorized": 2, "created": 3, "failed": 4}


def _most_telling(found: list[GatewayPayment], tracked: str | None) -> GatewayPayment | None:
    """Of an order's payments, the one that says most: a captured one over an authorised one over a failed one."""
    if not found:
        return None
    return min(found, key=lambda gp: (_TELLING[gp.status], gp.id != tracked))


def _rematch_events(gateway: Gateway, summary: ReconcileSummary, limit: int = 500) -> None:
    begin_write(db.session)
    ids = list(db.session.scalars(select(PaymentEvent.id).where(PaymentEvent.gateway == gateway.name,
                                                                 PaymentEvent.processed_at.is_(None))
                                  .order_by(PaymentEvent.received_at).limit(limit)))
    db.session.commit()
    for event_id in ids:
        begin_write(db.session)
        stored = _locked(PaymentEvent, PaymentEvent.id == event_id)
        if stored.processed_at is not None:
            db.session.commit()
            continue
        try:
            event = gateway.parse_webhook(stored.payload.encode())
        except ValueError:
            stored.processed_at, stored.outcome = utcnow(), "unreadable"
            db.session.commit()
            continue
        result = _process_event(stored, event)
        if result.status == 200:
            summary.events_matched += 1
        else:
            summary.events_waiting += 1
            if utcnow() - stored.received_at > timedelta(days=1):
                log.error("webhook %r has waited over a day for the order it names: staff should look", stored.event_id)
        db.session.commit()


# --- counter payments (staff) ---


def cash_received_today(account_id: int) -> Decimal:
    start = datetime.combine(today_in_india(), datetime.min.time(), tzinfo=INDIA)
    total = db.session.scalar(select(func.sum(Payment.amount)).where(
        Payment.account_id == account_id, Payment.method == PaymentMethod.CASH,
        Payment.state.in_([PaymentState.CAPTURED, PaymentState.REFUNDED]), Payment.captured_at >= start))
    return Decimal(total or 0).quantize(ONE_PAISA)


def record_counter_payment(account_id: int, method: PaymentMethod, amount: Decimal, actor, idempotency_key: str,
                           instrument_number: str | None = None, instrument_bank: str | None = None) -> Payment:
    """Cash, a cheque or a demand draft taken at the counter: captured at once, with a receipt. Cash is limited
    per connection and day (CASH_LIMIT). The same idempotency key returns the same payment."""
    if method not in COUNTER_METHODS:
        raise PaymentError("Choose cash, cheque or demand draft.")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise PaymentError("This form has expired. Please reload the page and try again.")
    if amount != amount.quantize(ONE_PAISA) or amount < MIN_AMOUNT or amount > COUNTER_MAX:
        raise AmountOutOfRange(f"Enter an amount from {rupees(MIN_AMOUNT)} to {rupees(COUNTER_MAX)}.")
    if method != PaymentMethod.CASH:
        instrument_number = (instrument_number or "").strip()
        instrument_bank = (instrument_bank or "").strip()
        if not CHEQUE_NUMBER.match(instrument_number):
            raise PaymentError("Enter the six-digit cheque or draft number.")
        if not instrument_bank:
            raise PaymentError("Enter the bank the cheque or draft is drawn on.")
    else:
        instrument_number = instrument_bank = None
    account = _lock_account(account_id)  # cash taken today is summed and checked one payment at a time
    if account is None:
        raise PaymentError("There is no such connection.")
    existing = db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.account_id != account_id:
            raise PaymentError("This form has expired. Please reload the page and try again.")
        return existing
    if method == PaymentMethod.CASH:
        limit = current_app.config["CASH_LIMIT"]
        already = cash_received_today(account_id)
        if already + amount > limit:
            left = max(limit - already, ZERO)
            raise CashLimitExceeded(f"Cash is accepted up to {rupees(limit)} a day per connection; {rupees(left)} more "
                                    "can be taken today. Take a cheque, a draft or a digital payment for the rest.")
    _insert_ignore(Payment, {"account_id": account_id, "amount": amount, "method": method,
                             "state": PaymentState.CREATED, "reference": new_reference(),
                             "idempotency_key": idempotency_key, "recorded_by_id": getattr(actor, "id", None),
                             "instrument_number": instrument_number, "instrument_bank": instrument_bank,
                             "refunded_amount": ZERO}, ["idempotency_key"])
    payment = _locked(Payment, Payment.idempotency_key == idempotency_key)
    if payment.account_id != account_id:
        raise PaymentError("This form has expired. Please reload the page and try again.")
    if payment.state == PaymentState.CREATED:
        _capture(payment, amount, "counter", actor=actor)
        audit.record("payment.counter", payment, {"method": method.value, "amount": str(amount),
                                                  "instrument": instrument_number}, actor=actor)
    return payment


def bounce_charge() -> Decimal:
    """The charge for a returned cheque. The tariff format has no such term yet, so it is configured
    (CHEQUE_BOUNCE_CHARGE; 0 means none). When tariffs gain one, read it here."""
    return Decimal(current_app.config.get("CHEQUE_BOUNCE_CHARGE") or 0).quantize(ONE_PAISA)


def bounce_instrument(payment_id: int, reason: str, actor) -> Payment:
    """A cheque or draft the bank returned: reverse its PAYMENT entry (and the rebate it earned) and charge the
    bounce charge if one is configured. Once only."""
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError("Give the bank's reason for returning it.")
    payment = lock_payment(payment_id)
    if payment is None:
        raise PaymentError("There is no such payment.")
    if payment.method not in (PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT):
        raise PaymentError("Only a cheque or a demand draft can bounce.")
    if payment.state == PaymentState.BOUNCED:
        return payment
    if payment.refunded_amount > 0:
        raise PaymentError("Part of this payment was refunded; it cannot be marked as bounced.")
    try:
        check_transition(payment.state, PaymentState.BOUNCED)
    except TransitionRefused as refusal:
        raise PaymentError(str(refusal).capitalize() + ".") from None
    _lock_account(payment.account_id)
    today = today_in_india()
    paid = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYMENT,
                                                       LedgerEntry.payment_id == payment.id))
    ledger.post(payment.account_id, LedgerKind.REVERSAL, -paid.amount, today,
                f"{METHOD_LABELS[payment.method].capitalize()} {payment.instrument_number} returned: {reason}"[:200],
                payment_id=payment.id, reverses_id=paid.id, actor=actor)
    rebate = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.REBATE,
                                                         LedgerEntry.payment_id == payment.id))
    if rebate is not None:
        ledger.post(payment.account_id, LedgerKind.REVERSAL, -rebate.amount, today,
                    f"Rebate withdrawn: {payment.receipt_number} was returned unpaid", reverses_id=rebate.id,
                    actor=actor)
    charge = bounce_charge()
    if charge > 0:
        ledger.post(payment.account_id, LedgerKind.ADJUSTMENT, charge, today,
                    f"Charge for the returned {METHOD_LABELS[payment.method]} {payment.instrument_number}",
                    payment_id=payment.id, actor=actor)
    payment.state = PaymentState.BOUNCED
    payment.failure_reason = reason[:200]
    audit.record("payment.bounced", payment, {"reason": reason[:200], "charge": str(charge)}, actor=actor)
    return payment


# --- staff decisions ---


def accept_held(payment_id: int, actor) -> Payment:
    """Staff checked a held payment: credit what was actually received (a refund of any excess may follow)."""
    payment = lock_payment(payment_id)
    if payment is None or payment.state != PaymentState.HELD:
        raise PaymentError("Only a payment held for review can be accepted.")
    _capture(payment, payment.received_amount, "staff", actor=actor)
    return payment


def confirm_upi_by_staff(payment_id: int, utr: str, amount: Decimal, actor) -> Payment:
    """A UPI payment found on the bank statement (by its `tr` and the bank's UTR) confirmed by staff."""
    utr = (utr or "").strip()
    if not UTR.match(utr):
        raise PaymentError("Enter the 12-digit UTR from the bank statement.")
    payment = lock_payment(payment_id)
    if payment is None or payment.method != PaymentMethod.UPI:
        raise PaymentError("Only a UPI payment can be confirmed from the bank statement.")
    if payment.state not in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
        raise PaymentError(f"This payment is {payment.state.value}; there is nothing to confirm.")
    used = db.session.scalar(select(Payment.reference).where(Payment.method == PaymentMethod.UPI,
                                                             Payment.instrument_number == utr))
    if used:  # one bank credit confirms one payment
        raise PaymentError(f"UTR {utr} already confirmed payment {used}.")
    payment.instrument_number = utr
    audit.record("payment.confirmed_by_staff", payment, {"utr": utr, "amount": str(amount)}, actor=actor)
    if amount != payment.amount:
        _hold(payment, amount, f"the bank statement shows {rupees(amount)} for an attempt of "
              f"{rupees(payment.amount)}", "staff", actor=actor)
    else:
        _capture(payment, amount, "staff", actor=actor)
    return payment


# --- refunds (staff) ---


def refund_payment(payment_id: int, amount: Decimal, reason: str, actor, idempotency_key: str) -> Refund:
    """Give back some or all of a captured payment: through the gateway for gateway payments, and always as a
    REFUND entry on the ledger. Partial refunds add up to at most the amount credited; the payment becomes
    `refunded` when all of it is. The same idempotency key returns the same refund."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundError("Give the reason for the refund.")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise RefundError("This form has expired. Please reload the page and try again.")
    payment = lock_payment(payment_id)
    if payment is None:
        raise RefundError("There is no such payment.")
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.payment_id != payment.id:
            raise RefundError("This form has expired. Please reload the page and try again.")
        return existing
    if payment.state != PaymentState.CAPTURED:
        raise RefundError(f"A {payment.state.value} payment cannot be refunded.")
    if amount != amount.quantize(ONE_PAISA) or amount <= 0:
        raise RefundError("Enter the amount to refund in rupees and paise.")
    if amount > payment.refundable_amount:
        raise RefundError(f"At most {rupees(payment.refundable_amount)} of this payment can still be refunded.")
    refund = Refund(payment_id=payment.id, amount=amount, idempotency_key=idempotency_key, reason=reason[:200],
                    created_by_id=getattr(actor, "id", None), state="processed")
    db.session.add(refund)
    db.session.flush()
    if payment.gateway and payment.gateway_payment_id:
        try:
            answer = get_gateway().refund(payment.gateway_payment_id, amount, idempotency_key,
                                          {"reference": payment.reference, "receipt": payment.receipt_number or ""})
        except GatewayError as error:
            raise RefundError(f"The gateway did not accept the refund: {error}") from None
        refund.gateway_refund_id = answer.id
        refund.state = "failed" if answer.status == "failed" else answer.status
        if refund.state == "failed":
            raise RefundError("The gateway refused the refund.")
    entry = ledger.post(payment.account_id, LedgerKind.REFUND, amount, today_in_india(),
                        f"Refund of {rupees(amount)} from {payment.receipt_number}: {reason}"[:200], actor=actor)
    refund.ledger_entry_id = entry.id
    payment.refunded_amount = (payment.refunded_amount or ZERO) + amount
    if payment.refunded_amount == payment.credited_amount:
        check_transition(payment.state, PaymentState.REFUNDED)
        payment.state = PaymentState.REFUNDED
    audit.record("payment.refunded", payment, {"amount": str(amount), "reason": reason[:200],
                                               "refund": refund.id, "left": str(payment.refundable_amount)},
                 actor=actor)
    return refund
