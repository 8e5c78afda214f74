"""A connection linked to another person's account: everyone already linked is told in the app, and the registered
holder by SMS on the connection's registered mobile (unless they linked it themselves). A stranger who guessed a
bill amount is then noticed at once."""

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.messaging.outbox import queue_message
from app.notifications.models import NotificationKind
from app.notifications.reminders import last_digits, linked_users
from app.notifications.services import notify, release_time, user_locale


def connection_linked(link, user, account, **_kwargs) -> None:
    for other in linked_users([account.id]).get(account.id, []):
        if other.id != user.id:
            notify(other, NotificationKind.SECURITY, _l("Your connection was linked by someone else"),
                   _l("Connection ending %(digits)s was just linked to another person's account in the app. If you "
                      "do not know who, please raise a complaint.", digits=last_digits(account)),
                   "/connections", account=account, dedupe_key=f"linked:{link.id}:{other.id}")
    if account.registered_mobile and account.registered_mobile != user.mobile:
        _tell_the_holder(account)


def _tell_the_holder(account) -> None:
    holder = db.session.scalar(select(User).where(User.mobile == account.registered_mobile))
    locale = user_locale(holder) if holder else current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        body = str(_l("%(utility)s: your electricity connection ending %(digits)s was just linked to an account in "
                      "our app. If this was not you or your family, please call us.",
                      utility=current_app.config["UTILITY_NAME"], digits=last_digits(account)))
        subject = str(_l("Connection linked"))
    message = queue_message(account.registered_mobile, subject, body)
    message.next_attempt_at = release_time(holder, utcnow())  # no SMS in the night
