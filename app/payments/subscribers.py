"""What payments answers when a lower domain asks it something (connected by create_app)."""

from app.billing.signals import payment_link
from app.payments.upi import upi_link


def bill_upi_link(_sender, amount, reference, note, **_kwargs) -> str:
    return upi_link(amount, reference, note)


def connect() -> None:
    payment_link.connect(bill_upi_link)
