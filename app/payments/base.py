"""What every payment use case shares: limits, refusals, references, amounts, row locks."""

from __future__ import annotations

import logging
import re
import secrets
import string
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app

from app import i18n
from app.accounts.models import Account
from app.auth.maker_checker import locked as _locked
from app.auth.maker_checker import signatories as signatories  # the payments' modules import it from here
from app.auth.models import Role
from app.db import INDIA
from app.i18n import N_
from app.payments.models import (
    Payment,
    PaymentMethod,
)
from app.payments.upi import REFERENCE
from app.web.idempotency import IDEMPOTENCY_KEY, new_idempotency_key  # noqa: F401 - used via base

security_log = logging.getLogger("dtech.security")

ONE_PAISA = Decimal("0.01")
MIN_AMOUNT = Decimal("1.00")
ADVANCE_CEILING = Decimal("100000.00")  # an advance may go up to ₹1,00,000 (or ten times the amount due)
COUNTER_MAX = Decimal("1000000.00")
CHEQUE_NUMBER = re.compile(r"^[0-9]{6}$")
# The MICR code printed at the foot of a cheque or draft: 3 digits for the city, 3 for the bank, 3 for the branch.
MICR_CODE = re.compile(r"^[0-9]{9}$")
# From a card paid on the counter's POS terminal we keep the approval (authorisation) code on its slip and the
# card's last four digits. Anything as long as a card number (12 to 19 digits) is refused, never stored.
CARD_APPROVAL_CODE = re.compile(r"^[A-Z0-9]{6}$")
CARD_LAST4 = re.compile(r"^[0-9]{4}$")
FULL_CARD_NUMBER = re.compile(r"^[0-9]{12,19}$")
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
                 PaymentMethod.CHEQUE: "cheque", PaymentMethod.DEMAND_DRAFT: "demand draft",
                 PaymentMethod.CARD: "card"}


# Changes reported by the gateway (webhook, callback, reconcile) are audited without a person as the actor.
SYSTEM = type("System", (), {"id": None})()


class PaymentError(Exception):
    """A refusal the person can act on; the message (English) is safe to show. A refusal a customer may see
    carries a `code` (one of REFUSALS) and its `params`, and the page shows it in the customer's language."""

    def __init__(self, message: str, code: str | None = None, **params: object):
        super().__init__(message)
        self.code = code
        self.params = params

    @classmethod
    def refused(cls, code: str, **params: object) -> PaymentError:
        """The refusal `code` (one of REFUSALS), its English message made from the same text (amounts as ₹)."""
        english = REFUSALS[code] % {name: rupees(value) if isinstance(value, Decimal) else value
                                    for name, value in params.items()}
        return cls(english, code, **params)


# Every refusal a person may see (customers and staff), by code; views translate them (payments.views.refusal_text).
REFUSALS = {
    "amount_paise": N_("Enter rupees and paise only, like 1234.50."),
    "amount_range": N_("Enter an amount from %(low)s to %(high)s."),
    "choose_method": N_("Choose how to pay."),
    "form_expired": N_("This form has expired. Please reload the page and try again."),
    # At the counter and on the staff payment page:
    "choose_counter_method": N_("Choose cash, card, cheque or demand draft."),
    "instrument_number": N_("Enter the six-digit cheque or draft number."),
    "instrument_micr": N_("Enter the nine-digit MICR code printed at the foot of the cheque or draft."),
    "instrument_bank": N_("Enter the bank the cheque or draft is drawn on."),
    "instrument_recorded": N_("Cheque or draft %(number)s with MICR code %(micr)s is already recorded "
                              "(receipt %(receipt)s). The same instrument cannot be recorded twice."),
    "card_full_number": N_("Never type the full card number. Enter only the last four digits and the approval "
                           "code from the terminal's slip."),
    "card_approval_code": N_("Enter the six-character approval code from the card terminal's slip."),
    "card_last4": N_("Enter the last four digits of the card."),
    "no_connection": N_("There is no such connection."),
    "no_payment": N_("There is no such payment."),
    "cash_limit": N_("Cash is accepted up to %(limit)s a day per connection; %(left)s more can be taken today. "
                     "Take a cheque, a draft or a digital payment for the rest."),
    "bounce_reason": N_("Give the bank's reason for returning it."),
    "bounce_not_instrument": N_("Only a cheque or a demand draft can bounce."),
    "bounce_refunded": N_("Part of this payment was refunded; it cannot be marked as bounced."),
    "bounce_state": N_("A %(state)s payment cannot become bounced."),
    "accept_not_held": N_("Only a payment held for review can be accepted."),
    "utr_format": N_("Enter the 12-digit UTR from the bank statement."),
    "confirm_not_upi": N_("Only a UPI payment can be confirmed from the bank statement."),
    "confirm_state": N_("This payment is %(state)s; there is nothing to confirm."),
    "utr_used": N_("UTR %(utr)s already confirmed payment %(payment)s."),
    "refund_reason": N_("Give the reason for the refund."),
    "refund_state": N_("A %(state)s payment cannot be refunded."),
    "refund_amount": N_("Enter the amount to refund in rupees and paise."),
    "refund_at_most": N_("At most %(amount)s of this payment can still be refunded."),
    "refund_gateway_error": N_("The gateway did not accept the refund: %(error)s"),
    "refund_refused": N_("The gateway refused the refund."),
    "clear_not_clearing": N_("Only a cheque or draft that is still clearing can be marked as cleared."),
    "needs_approval": N_("This needs a second person: propose it, and another administrator approves it."),
    "approval_not_admin": N_("Only an administrator can approve or reject."),
    "approval_own": N_("You proposed this yourself; another administrator must decide it."),
    "approval_decided": N_("This proposal was already decided."),
    "approval_waiting": N_("A proposal like this for this payment is already waiting for approval."),
    "approval_missing": N_("There is no such proposal."),
    # The cashier's day (cash books):
    "day_closed": N_("You closed your cash book for today: no more counter payments can be recorded on it. "
                     "Nothing was recorded."),
    "cash_book_missing": N_("There is no such cash book."),
    "cash_book_not_yours": N_("Only the cashier whose cash book it is can close it."),
    "cash_book_not_open": N_("This cash book is already closed."),
    "counted_cash": N_("Enter the cash you counted, in rupees and paise (0 if there is none)."),
    "cash_difference_note": N_("The cash counted differs from the cash recorded by %(difference)s: say why."),
    "cash_book_supervisor": N_("Only an administrator or a billing officer can accept a cash book."),
    "cash_book_own": N_("This is your own cash book: another supervisor must accept it."),
    "cash_book_still_open": N_("The cashier has not closed this cash book yet."),
    "cash_book_accepted": N_("This cash book was already accepted."),
    # On the reconciliation page:
    "ask_state": N_("Only an online attempt still waiting can be asked about."),
    "ask_other_gateway": N_("This attempt went through another payment gateway."),
    "fail_state": N_("Only an online attempt still waiting can be marked as failed."),
    "fail_recent": N_("This attempt is recent: the gateway may still confirm it. Ask the gateway first."),
    "no_webhook": N_("There is no such webhook."),
    "webhook_settled": N_("This webhook was already settled."),
    "match_not_payment": N_("Only a payment webhook can be matched to a payment; dismiss this one with a reason."),
    "match_no_payment": N_("There is no payment %(reference)s."),
    "match_not_online": N_("Payment %(reference)s was not made online."),
    "match_order_taken": N_("The webhook's order belongs to payment %(reference)s."),
    "match_misfit": N_("The webhook does not fit payment %(reference)s (%(why)s)."),
    "no_line": N_("There is no such line."),
    "line_matched": N_("This line matched: there is nothing to investigate."),
    "line_investigated": N_("This line was already marked as investigated."),
}


def approval_limit() -> Decimal:
    """Up to this an administrator may refund or confirm alone (APPROVAL_LIMIT, ₹)."""
    return Decimal(current_app.config["APPROVAL_LIMIT"]).quantize(ONE_PAISA)


def may_act_alone(actor, amount: Decimal) -> bool:
    """Maker-checker: only an administrator moves money alone, and only up to the limit; anything else is a
    proposal that a second administrator approves."""
    return getattr(actor, "role", None) == Role.ADMIN and amount <= approval_limit()


class AmountOutOfRange(PaymentError):
    pass


class CashLimitExceeded(PaymentError):
    pass


class RefundError(PaymentError):
    pass


def new_reference() -> str:
    """Our payment reference, also the UPI `tr`: 16 capital letters and digits."""
    reference = "DT" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(14))
    if not REFERENCE.match(reference):  # the UPI `tr` rules: never send one a bank would refuse
        raise RuntimeError("a payment reference broke its own format")
    return reference


def rupees(amount: Decimal) -> str:
    """₹1,00,000.00: Indian grouping, for messages (the pages' formatter, in English)."""
    return i18n.rupees(amount, "en_IN")


def receipt_number_for(payment: Payment) -> str:
    """Unique by construction (the payment's id), so concurrent captures never race for a number."""
    return f"RCP{payment.id:09d}"


def amount_bounds(due: Decimal) -> tuple[Decimal, Decimal]:
    """What a customer may pay now: ₹1 up to ten times the amount due or ₹1,00,000, whichever is more."""
    return MIN_AMOUNT, max(due * 10, ADVANCE_CEILING).quantize(ONE_PAISA)


def check_amount(amount: Decimal, due: Decimal) -> None:
    low, high = amount_bounds(due)
    if amount != amount.quantize(ONE_PAISA):
        raise AmountOutOfRange.refused("amount_paise")
    if amount < low or amount > high:
        raise AmountOutOfRange.refused("amount_range", low=low, high=high)


def lock_payment(payment_id: int) -> Payment | None:
    return _locked(Payment, Payment.id == payment_id)


def _lock_account(account_id: int) -> Account | None:
    return _locked(Account, Account.id == account_id)


def _india_day(moment: datetime) -> date:
    return moment.astimezone(INDIA).date()
