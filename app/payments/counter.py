"""Counter payments taken by staff (cash, card on the POS terminal, cheque, demand draft) and staff decisions on
held or bounced ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.billing import ledger
from app.billing.models import LedgerEntry, LedgerKind
from app.db import INDIA, ZERO, insert_ignore, today_in_india
from app.extensions import db
from app.payments import cash_books
from app.payments.base import (
    CARD_APPROVAL_CODE,
    CARD_LAST4,
    CHEQUE_NUMBER,
    COUNTER_MAX,
    FULL_CARD_NUMBER,
    IDEMPOTENCY_KEY,
    METHOD_LABELS,
    MICR_CODE,
    MIN_AMOUNT,
    ONE_PAISA,
    UTR,
    AmountOutOfRange,
    CashLimitExceeded,
    PaymentError,
    _lock_account,
    _locked,
    lock_payment,
    may_act_alone,
    new_reference,
    rupees,
    signatories,
)
from app.payments.capture import _capture, _hold
from app.payments.models import (
    COUNTER_METHODS,
    INSTRUMENT_METHODS,
    MoneyApproval,
    Payment,
    PaymentMethod,
    PaymentState,
)
from app.payments.signals import payment_bounced
from app.payments.states import TransitionRefused, check_transition


def cash_received_today(account_id: int) -> Decimal:
    start = datetime.combine(today_in_india(), datetime.min.time(), tzinfo=INDIA)
    # What stays with us: a cash payment refunded (in part) counts only for what was kept.
    total = db.session.scalar(select(func.sum(Payment.amount - func.coalesce(Payment.refunded_amount, 0))).where(
        Payment.account_id == account_id, Payment.method == PaymentMethod.CASH,
        Payment.state.in_([PaymentState.CAPTURED, PaymentState.REFUNDED]), Payment.captured_at >= start))
    return Decimal(total or 0).quantize(ONE_PAISA)


@dataclass(frozen=True)
class Instrument:
    """What the cashier typed besides the amount, checked and written one way: a cheque's or draft's number, bank
    and MICR code; a card's approval code (as `number`) and last four digits. Cash has none of it."""

    number: str | None = None
    bank: str | None = None
    micr: str | None = None
    card_last4: str | None = None

    def columns(self) -> dict:
        return {"instrument_number": self.number, "instrument_bank": self.bank, "instrument_micr": self.micr,
                "card_last4": self.card_last4}


def check_counter_payment(account_id: int, method: PaymentMethod, amount: Decimal, instrument_number: str | None = None,
                          instrument_bank: str | None = None, cashier=None, instrument_micr: str | None = None,
                          card_last4: str | None = None) -> None:
    """What record_counter_payment would refuse, said before the cashier confirms (a cheque recorded before, the
    day's cash limit, the cashier's day closed); nothing is written. record_counter_payment checks all of it again
    when it writes."""
    instrument = _instrument(method, amount, instrument_number, instrument_bank, instrument_micr, card_last4)
    cash_books.check_open(cashier)
    _check_against_recorded(account_id, method, amount, instrument)


def _digits(text: str | None) -> str:
    """What was typed, without the spaces and dashes people put in long numbers."""
    return "".join((text or "").split()).replace("-", "")


def _instrument(method: PaymentMethod, amount: Decimal, number: str | None, bank: str | None,
                micr: str | None = None, card_last4: str | None = None) -> Instrument:
    """The amount and the instrument's particulars checked; each written one way."""
    if method not in COUNTER_METHODS:
        raise PaymentError.refused("choose_counter_method")
    if amount != amount.quantize(ONE_PAISA) or amount < MIN_AMOUNT or amount > COUNTER_MAX:
        raise AmountOutOfRange.refused("amount_range", low=MIN_AMOUNT, high=COUNTER_MAX)
    if method == PaymentMethod.CASH:
        return Instrument()
    if method == PaymentMethod.CARD:
        return _card(number, card_last4)
    number, bank, micr = (number or "").strip(), (bank or "").strip(), _digits(micr)
    if not CHEQUE_NUMBER.match(number):
        raise PaymentError.refused("instrument_number")
    if not MICR_CODE.match(micr):
        raise PaymentError.refused("instrument_micr")
    if not bank:
        raise PaymentError.refused("instrument_bank")
    return Instrument(number=number, bank=" ".join(bank.split()).upper(), micr=micr)


def _card(approval_code: str | None, last4: str | None) -> Instrument:
    """A card paid on the POS terminal: the approval code it printed and the card's last four digits. A full card
    number typed into either field is refused (and never stored, logged or shown back)."""
    approval_code, last4 = _digits(approval_code).upper(), _digits(last4)
    if FULL_CARD_NUMBER.match(approval_code) or FULL_CARD_NUMBER.match(last4):
        raise PaymentError.refused("card_full_number")
    if not CARD_APPROVAL_CODE.match(approval_code):
        raise PaymentError.refused("card_approval_code")
    if not CARD_LAST4.match(last4):
        raise PaymentError.refused("card_last4")
    return Instrument(number=approval_code, card_last4=last4)


def _check_against_recorded(account_id: int, method: PaymentMethod, amount: Decimal, instrument: Instrument) -> None:
    if method in INSTRUMENT_METHODS:
        recorded = db.session.scalar(select(Payment).where(
            Payment.method.in_(INSTRUMENT_METHODS), Payment.instrument_micr == instrument.micr,
            Payment.instrument_number == instrument.number, Payment.state != PaymentState.BOUNCED).limit(1))
        if recorded is not None:  # on any connection (a database constraint stops a twin recorded at once)
            raise PaymentError.refused("instrument_recorded", number=instrument.number, micr=instrument.micr,
                                       receipt=recorded.receipt_number or recorded.reference)
    if method == PaymentMethod.CASH:
        limit = current_app.config["CASH_LIMIT"]
        already = cash_received_today(account_id)
        if already + amount > limit:
            left = max(limit - already, ZERO)
            raise CashLimitExceeded.refused("cash_limit", limit=Decimal(limit), left=left)


# What a counter payment of each kind is until the bank or the acquirer says otherwise: cash and an approved card
# are paid; a cheque or draft is credited subject to clearing.
_STATE_ON_RECEIPT = {PaymentMethod.CASH: PaymentState.CAPTURED, PaymentMethod.CARD: PaymentState.CAPTURED,
                     PaymentMethod.CHEQUE: PaymentState.CLEARING, PaymentMethod.DEMAND_DRAFT: PaymentState.CLEARING}


def record_counter_payment(account_id: int, method: PaymentMethod, amount: Decimal, actor, idempotency_key: str,
                           instrument_number: str | None = None, instrument_bank: str | None = None,
                           instrument_micr: str | None = None, card_last4: str | None = None) -> Payment:
    """Cash, a card on the POS terminal, a cheque or a demand draft taken at the counter, with a receipt at once:
    cash and an approved card are captured; a cheque or draft is credited subject to clearing (`clearing`, until
    staff mark it cleared or bounced), and is recorded once across all connections (by its MICR code and number).
    Cash is limited per connection and day (CASH_LIMIT). The payment is an entry in the cashier's cash book of the
    day, refused once the cashier closed that day. The same idempotency key returns the same payment."""
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise PaymentError.refused("form_expired")
    instrument = _instrument(method, amount, instrument_number, instrument_bank, instrument_micr, card_last4)
    account = _lock_account(account_id)  # cash taken today is summed and checked one payment at a time
    if account is None:
        raise PaymentError.refused("no_connection")
    existing = db.session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if existing is not None:
        if existing.account_id != account_id:
            raise PaymentError.refused("form_expired")
        return existing
    book = cash_books.book_for_entry(actor) if getattr(actor, "id", None) else None
    _check_against_recorded(account_id, method, amount, instrument)
    try:
        with db.session.begin_nested():
            db.session.execute(insert_ignore(db.session, Payment.__table__, ["idempotency_key"]).values(
                {"account_id": account_id, "amount": amount, "method": method,
                 "state": PaymentState.CREATED, "reference": new_reference(),
                 "idempotency_key": idempotency_key, "recorded_by_id": getattr(actor, "id", None),
                 "cash_book_id": book.id if book else None, **instrument.columns(),
                 "refunded_amount": ZERO}))
    except IntegrityError:  # the same instrument, recorded by another cashier a moment ago
        raise PaymentError.refused("instrument_recorded", number=instrument.number, micr=instrument.micr,
                                   receipt="—") from None
    payment = _locked(Payment, Payment.idempotency_key == idempotency_key)
    if payment.account_id != account_id:
        raise PaymentError.refused("form_expired")
    if payment.state == PaymentState.CREATED:
        _capture(payment, amount, "counter", actor=actor, state=_STATE_ON_RECEIPT[method])
        audit.record("payment.counter", payment, {"method": method.value, "amount": str(amount),
                                                  "instrument": instrument.number, "micr": instrument.micr,
                                                  "card_last4": instrument.card_last4,
                                                  "cash_book": payment.cash_book_id}, actor=actor)
    return payment


def bounce_charge() -> Decimal:
    """The charge for a returned cheque or draft. The tariff format has no such term yet, so it is configured per
    deployment (CHEQUE_BOUNCE_CHARGE, ₹150 unless set; 0 means none). When tariffs gain one, read it here."""
    return Decimal(current_app.config["CHEQUE_BOUNCE_CHARGE"]).quantize(ONE_PAISA)


def bounce_instrument(payment_id: int, reason: str, actor) -> Payment:
    """A cheque or draft the bank returned: reverse its PAYMENT entry (and the rebate it earned) and charge the
    bounce charge if one is configured. Once only."""
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError.refused("bounce_reason")
    payment = lock_payment(payment_id)
    if payment is None:
        raise PaymentError.refused("no_payment")
    if payment.method not in INSTRUMENT_METHODS:
        raise PaymentError.refused("bounce_not_instrument")
    if payment.state == PaymentState.BOUNCED:
        return payment
    if payment.refunded_amount > 0:
        raise PaymentError.refused("bounce_refunded")
    try:
        check_transition(payment.state, PaymentState.BOUNCED)
    except TransitionRefused:
        raise PaymentError.refused("bounce_state", state=payment.state.value) from None
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
    payment_bounced.send(payment, charge=charge)
    return payment


def clear_instrument(payment_id: int, actor) -> Payment:
    """The bank cleared a cheque or draft: it is paid for good (its ledger entry was posted on receipt). Once."""
    payment = lock_payment(payment_id)
    if payment is None:
        raise PaymentError.refused("no_payment")
    if payment.state == PaymentState.CAPTURED and payment.method in INSTRUMENT_METHODS:
        return payment
    if payment.state != PaymentState.CLEARING:
        raise PaymentError.refused("clear_not_clearing")
    check_transition(payment.state, PaymentState.CAPTURED)
    payment.state = PaymentState.CAPTURED
    audit.record("payment.cleared", payment, {"instrument": payment.instrument_number}, actor=actor)
    return payment


def accept_held(payment_id: int, actor) -> Payment:
    """Staff checked a held payment: credit what was actually received (a refund of any excess may follow)."""
    payment = lock_payment(payment_id)
    if payment is None or payment.state != PaymentState.HELD:
        raise PaymentError.refused("accept_not_held")
    _capture(payment, payment.received_amount, "staff", actor=actor)
    return payment


def check_confirm_upi(payment: Payment | None, utr: str) -> Payment:
    """Refuse a confirmation that cannot be made (asked when it is proposed, and again when it is made)."""
    if not UTR.match(utr):
        raise PaymentError.refused("utr_format")
    if payment is None or payment.method != PaymentMethod.UPI:
        raise PaymentError.refused("confirm_not_upi")
    if payment.state not in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
        raise PaymentError.refused("confirm_state", state=payment.state.value)
    used = db.session.scalar(select(Payment.reference).where(Payment.method == PaymentMethod.UPI,
                                                             Payment.instrument_number == utr))
    if used:  # one bank credit confirms one payment
        raise PaymentError.refused("utr_used", utr=utr, payment=used)
    return payment


def confirm_upi_by_staff(payment_id: int, utr: str, amount: Decimal, actor,
                         approval: MoneyApproval | None = None) -> Payment:
    """A UPI payment found on the bank statement (by its `tr` and the bank's UTR) confirmed by staff: by an
    administrator within APPROVAL_LIMIT, or by the `approval` a second one gave (see approvals.py)."""
    utr = (utr or "").strip()
    if not UTR.match(utr):
        raise PaymentError.refused("utr_format")
    if approval is None and not may_act_alone(actor, amount):
        raise PaymentError.refused("needs_approval")
    payment = check_confirm_upi(lock_payment(payment_id), utr)
    payment.instrument_number = utr
    audit.record("payment.confirmed_by_staff", payment, {"utr": utr, "amount": str(amount),
                                                         **signatories(approval, actor)}, actor=actor)
    if amount != payment.amount:
        _hold(payment, amount, f"the bank statement shows {rupees(amount)} for an attempt of "
              f"{rupees(payment.amount)}", "staff", actor=actor)
    else:
        _capture(payment, amount, "staff", actor=actor)
    return payment
