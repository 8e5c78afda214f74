"""What notifications does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import delete

from app.accounts.signals import account_linked
from app.auth.signals import user_erased, user_signed_out
from app.billing.signals import bills_issued
from app.extensions import db
from app.metering.signals import reading_recorded, reading_reviewed
from app.notifications import payment_notices, security_notices, usage
from app.notifications.models import Notification, NotificationPreference, PushSubscription, UsageBudget
from app.notifications.reminders import notify_bills_issued
from app.payments.signals import payment_bounced, payment_captured, payment_failed, payment_refunded


def forget_user(user, **_kwargs) -> None:
    """An erased user's inbox, preferences, budgets and push subscriptions are deleted."""
    for model in (PushSubscription, Notification, NotificationPreference, UsageBudget):
        db.session.execute(delete(model).where(model.user_id == user.id))


def bills_ready(_sender, bill_ids, **_kwargs) -> None:
    notify_bills_issued(bill_ids)


def connect() -> None:
    from app.notifications.push_views import forget_browser_at_sign_out

    user_erased.connect(forget_user)
    bills_issued.connect(bills_ready)
    payment_captured.connect(payment_notices.payment_captured)
    payment_failed.connect(payment_notices.payment_failed)
    payment_refunded.connect(payment_notices.payment_refunded)
    payment_bounced.connect(payment_notices.payment_bounced)
    reading_recorded.connect(usage.reading_recorded)
    reading_reviewed.connect(usage.reading_reviewed)
    account_linked.connect(security_notices.connection_linked)
    user_signed_out.connect(forget_browser_at_sign_out)
