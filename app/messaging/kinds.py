"""What a message is for: every message in the outbox has a kind.

The kind chooses the SMS template: Indian SMS must match a template registered on the DLT platform (TRAI), so
each kind sent by SMS has a template id in the configuration (DTECH_SMS_TEMPLATES, see config.py). A template
provider (MSG91) sends the template id and the message's `params` (the template's variables), not the body;
the body is for the console, email and the memory sender.

A new kind of message gets a member here, a DLT template registered for it, and its variables listed below.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from babel.numbers import format_decimal


class MessageKind(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105  # nosec B105  # a kind's name, not a password
    OTP = "otp"  # a one-time code (linking a connection, registering a mobile number)
    LINK_NOTICE = "link_notice"  # to the registered mobile: a connection was linked to an account
    LINK_REQUEST = "link_request"  # to the customer: staff approved or rejected their request to link
    BILL_ISSUED = "bill_issued"
    DUE_REMINDER = "due_reminder"  # "…is due on ##due##" (before the due date, and on it)
    OVERDUE_REMINDER = "overdue_reminder"  # "…was due on ##due##" (after it)
    PAYMENT = "payment"  # a payment received (a receipt), to the registered mobile and to who asked for it
    PAYMENT_FAILED = "payment_failed"
    REFUND = "refund"
    STAFF_INVITE = "staff_invite"  # to a new staff member: the link to choose their first password
    # To a registered mobile number someone tried to sign up with: "you already have an account; reset at ##link##"
    SIGN_UP_WARNING = "sign_up_warning"


# The variables each kind's template has (their names in the provider's template, e.g. MSG91's ##link##):
# queue_message refuses a message of a listed kind whose params name others, so code and templates agree.
# Every kind sent by SMS has its entry (a kind without one is sent by email only).
TEMPLATE_VARIABLES: dict[MessageKind, frozenset[str]] = {
    MessageKind.PASSWORD_RESET: frozenset({"link", "minutes"}),
    MessageKind.OTP: frozenset({"code"}),  # "…is your code; it works for 10 minutes": the time is the template's
    MessageKind.LINK_NOTICE: frozenset({"number", "date", "helpline"}),
    MessageKind.LINK_REQUEST: frozenset({"number", "outcome"}),
    MessageKind.STAFF_INVITE: frozenset({"link", "hours"}),
    MessageKind.SIGN_UP_WARNING: frozenset({"link"}),
    # "Bill of Rs ##amount## for consumer no. ##number## is due on ##due##. Pay in the D-Tech app." (and reminders)
    MessageKind.BILL_ISSUED: frozenset({"number", "amount", "due"}),
    MessageKind.DUE_REMINDER: frozenset({"number", "amount", "due"}),
    MessageKind.OVERDUE_REMINDER: frozenset({"number", "amount", "due"}),
    MessageKind.PAYMENT: frozenset({"number", "amount", "receipt"}),
    MessageKind.PAYMENT_FAILED: frozenset({"number", "amount"}),
    MessageKind.REFUND: frozenset({"amount", "receipt"}),
}


def check_variables(kind: MessageKind, names: set[str]) -> None:
    expected = TEMPLATE_VARIABLES.get(kind)
    if expected is not None and names != expected:
        raise ValueError(f"a {kind} message's template variables are {', '.join(sorted(expected))}, "
                         f"not {', '.join(sorted(names)) or 'none'}")


def message_kind(value: str) -> MessageKind:
    """The kind named by `value`; ValueError for an unknown one (a typo would otherwise fail only by SMS)."""
    try:
        return MessageKind(value)
    except ValueError:
        raise ValueError(f"unknown message kind {value!r}; add it to app.messaging.kinds.MessageKind") from None


# A DLT template is registered in one language with "Rs" in its fixed text: its variables are plain ASCII (a ₹ or
# Devanagari would make the whole SMS Unicode, at 70 characters a part instead of 160).
def sms_amount(amount: Decimal) -> str:
    """1,23,456.78: rounded to the paisa, grouped the Indian way, no symbol."""
    paise = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format_decimal(paise, format="#,##,##0.00", locale="en_IN")


def sms_date(value: date) -> str:
    return value.strftime("%d-%m-%Y")
