"""What payments answers when a lower domain asks it something (connected by create_app)."""

from decimal import Decimal

from sqlalchemy import func, select

from app.billing.signals import payment_link, uncleared_money
from app.extensions import db
from app.payments.models import Payment, PaymentState
from app.payments.upi import upi_link


def bill_upi_link(_sender, amount, reference, note, **_kwargs) -> str:
    return upi_link(amount, reference, note)


def clearing_amount(_sender, account_id, **_kwargs) -> Decimal:
    """Cheques and drafts credited on the connection's ledger that the bank has not cleared yet."""
    total = db.session.scalar(select(func.sum(func.coalesce(Payment.received_amount, Payment.amount))).where(
        Payment.account_id == account_id, Payment.state == PaymentState.CLEARING))
    return Decimal(total or 0)


def connect() -> None:
    payment_link.connect(bill_upi_link)
    uncleared_money.connect(clearing_amount)
