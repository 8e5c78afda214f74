"""What notifications does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import delete

from app.auth.signals import user_erased, user_signed_out
from app.extensions import db
from app.notifications.models import Notification, NotificationPreference, PushSubscription


def forget_user(user, **_kwargs) -> None:
    """An erased user's inbox, preferences and push subscriptions are deleted."""
    for model in (PushSubscription, Notification, NotificationPreference):
        db.session.execute(delete(model).where(model.user_id == user.id))


def connect() -> None:
    from app.notifications.push_views import forget_browser_at_sign_out

    user_erased.connect(forget_user)
    user_signed_out.connect(forget_browser_at_sign_out)
