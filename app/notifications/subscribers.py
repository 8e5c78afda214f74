"""What notifications does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import delete

from app.auth.signals import user_erased
from app.extensions import db
from app.notifications.models import Notification, NotificationPreference, PushSubscription


def forget_user(user, **_kwargs) -> None:
    """An erased user's inbox, preferences and push subscriptions are deleted."""
    for model in (PushSubscription, Notification, NotificationPreference):
        db.session.execute(delete(model).where(model.user_id == user.id))


def connect() -> None:
    user_erased.connect(forget_user)
