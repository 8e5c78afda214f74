"""What billing answers when a lower domain asks it something (connected by create_app)."""

from decimal import Decimal

from app.accounts.signals import latest_bill_amount
from app.billing.bills import latest_bills


def bill_amount(account, **_kwargs) -> Decimal | None:
    in_force = latest_bills(account.id, limit=1)
    return in_force[0].total_due if in_force else None


def connect() -> None:
    latest_bill_amount.connect(bill_amount)
