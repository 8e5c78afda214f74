"""A connection linked to another person's account: everyone already linked is told in the app. (The registered
holder is told by SMS at once by accounts, which links it.) A stranger who guessed their way in is then noticed."""

from flask_babel import lazy_gettext as _l

from app.notifications.models import NotificationKind
from app.notifications.reminders import last_digits, linked_users
from app.notifications.services import notify


def connection_linked(link, user, account, **_kwargs) -> None:
    for other in linked_users([account.id]).get(account.id, []):
        if other.id != user.id:
            notify(other, NotificationKind.SECURITY, _l("Your connection was linked by someone else"),
                   _l("Connection ending %(digits)s was just linked to another person's account in the app. If you "
                      "do not know who, please raise a complaint.", digits=last_digits(account)),
                   "/connections", account=account, dedupe_key=f"linked:{link.id}:{other.id}")
