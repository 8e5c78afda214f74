"""Notifications: the one way anything reaches a customer. `notify()` writes the inbox item (shown at once) and one
delivery per channel the customer wants (push, SMS), sent after the commit by app.notifications.delivery.

Texts are rendered in the customer's own language, whoever or whatever caused them (a staff member in English,
a periodic task with no language at all): pass lazy texts (`_l(...)`) and lazy values (`money()`, `day()`).
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import LazyString, force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.db import utcnow
from app.extensions import db
from app.i18n import indian_date, rupees
from app.messaging.kinds import MessageKind, check_variables
from app.messaging.quiet import release_time
from app.notifications.models import (
    Channel,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
    PushSubscription,
)
from app.taskqueue import AFTER_COMMIT, after_commit

K = NotificationKind

# What a customer gets when they have not chosen: every kind by push; the bill and its due date by SMS too when
# push is not on (a paperless customer would learn of a bill no other way), the rest not (an SMS costs the utility,
# and is noise). A customer with push on gets SMS only if they ask for it.
DEFAULT_ON = {
    Channel.PUSH: frozenset(NotificationKind),
    Channel.SMS: frozenset({K.BILL_ISSUED, K.DUE_REMINDER}),
}
SENDING_CHANNELS = (Channel.PUSH, Channel.SMS)
# The kinds that can go by SMS: those with a DLT template (app.messaging.kinds). The others' texts are free (an
# announcement, a reply to a complaint), which a DLT template cannot carry: they reach the inbox and push only.
SMS_KINDS = frozenset({K.BILL_ISSUED, K.DUE_REMINDER, K.PAYMENT})

# The preference page's rows: (name, label, kinds it sets).
PREFERENCE_GROUPS = (
    ("bills", _l("Bill issued and due-date reminders"), (K.BILL_ISSUED, K.DUE_REMINDER)),
    ("payments", _l("Payment confirmations"), (K.PAYMENT,)),
    ("usage", _l("Usage alerts"), (K.USAGE_ALERT,)),
    ("announcements", _l("Announcements (planned outages, service news)"), (K.ANNOUNCEMENT,)),
)

# Web push urgency by kind (a due-date reminder on the day itself is "high": see reminders).
URGENCY = {K.ANNOUNCEMENT: "low", K.USAGE_ALERT: "normal"}


def money(amount) -> LazyString:
    """An amount rendered in the language the text is rendered in: ₹1,234.50."""
    return LazyString(lambda: rupees(amount, str(get_locale() or "en_IN")))


def day(value) -> LazyString:
    """A date rendered in the language the text is rendered in: 24 Nov 2026."""
    return LazyString(lambda: indian_date(value))


def user_locale(user: User) -> str:
    return user.locale if user.locale in current_app.config["LANGUAGES"] else current_app.config[
        "BABEL_DEFAULT_LOCALE"]


# --- preferences -------------------------------------------------------------------------------------------------

def preferences(user: User) -> dict[tuple[NotificationKind, Channel], bool]:
    """Every (kind, channel) of the user: their choice, or the default (SMS by default only without push)."""
    chosen = {(p.kind, p.channel): p.enabled for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    sms_by_default = not _has_push(user)
    return {(kind, channel): chosen.get((kind, channel),
                                        kind in DEFAULT_ON[channel] and (channel is not Channel.SMS or sms_by_default))
            for kind in NotificationKind for channel in SENDING_CHANNELS}


def set_preference(user: User, kinds, channel: Channel, enabled: bool) -> None:
    for kind in kinds:
        row = db.session.scalar(select(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == kind,
            NotificationPreference.channel == channel))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel, enabled=enabled))
        else:
            row.enabled = enabled
    db.session.flush()


def _has_push(user: User) -> bool:
    return bool(db.session.scalar(select(exists().where(PushSubscription.user_id == user.id))))


def channels_for(user: User, kind: NotificationKind, by_sms: bool = True) -> list[Channel]:
    """The channels this notification goes out on besides the inbox: chosen, and reachable."""
    chosen = preferences(user)
    reachable = {Channel.SMS: by_sms and bool(user.mobile)}
    wanted = [channel for channel in SENDING_CHANNELS if chosen[(kind, channel)] and reachable.get(channel, True)]
    if Channel.PUSH in wanted and not _has_push(user):
        wanted.remove(Channel.PUSH)
    return wanted


# --- notify ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sms:
    """How a notification goes by SMS: its DLT template (by message kind) and the template's variables."""

    kind: MessageKind
    params: dict[str, str]

    def __post_init__(self) -> None:
        check_variables(self.kind, set(self.params))


def notify(user: User, kind: NotificationKind, title, body, url: str | None = None, *, account=None,
           dedupe_key: str | None = None, urgency: str | None = None, sms: Sms | None = None) -> Notification | None:
    """Write an inbox item for `user` and its deliveries, in the caller's transaction; they are sent after the
    commit (push and SMS held until the end of quiet hours). Without `sms` it is never sent by SMS. With
    `dedupe_key`, a second notification with the same key is never written: None is returned and the caller's
    transaction goes on."""
    with force_locale(user_locale(user)):
        title_text, body_text = str(title)[:120], str(body)
    now = utcnow()
    due_at = release_time(user, now)
    channels = channels_for(user, kind, by_sms=sms is not None)
    notification = Notification(user_id=user.id, account_id=getattr(account, "id", account), kind=kind,
                                title=title_text, body=body_text, url=url, dedupe_key=dedupe_key,
                                urgency=urgency or URGENCY.get(kind, "normal"), created_at=now,
                                sms_kind=sms.kind.value if sms else None, sms_params=sms.params if sms else None)
    try:
        with db.session.begin_nested():  # a twin (same key, another transaction) fails only this SAVEPOINT
            db.session.add(notification)
            db.session.flush()
            deliveries = [NotificationDelivery(notification_id=notification.id, channel=channel,
                                               next_attempt_at=due_at) for channel in channels]
            db.session.add_all(deliveries)
            db.session.flush()
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None
    if deliveries and due_at <= now:
        _send_after_commit([d.id for d in deliveries])
    return notification


def already_sent(keys: list[str]) -> set[str]:
    """Those of `keys` that some notification already has (a cheap check before a batch of notify())."""
    if not keys:
        return set()
    return set(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys))))


class _SendAfterCommit:
    """One task enqueued per transaction for all the deliveries it wrote (a reminder run writes many)."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        from app.notifications.tasks import send_deliveries  # the task module imports this one

        for start in range(0, len(self.ids), 50):
            send_deliveries(self.ids[start:start + 50])


def _send_after_commit(ids: list[int]) -> None:
    pending = next((work for work in db.session().info.get(AFTER_COMMIT, []) if isinstance(work, _SendAfterCommit)),
                   None)
    if pending is None:
        pending = _SendAfterCommit()
        after_commit(pending)
    pending.ids.extend(ids)


# --- the inbox ---------------------------------------------------------------------------------------------------

def inbox_query(user_id: int):
    return (select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def open_notification(user_id: int, notification_id: int) -> Notification | None:
    """The user's own notification (None for anyone else's), marked read."""
    notification = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                                Notification.user_id == user_id))
    if notification is not None and notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(update(Notification)
                                .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                                .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def prune_old_notifications() -> int:
    """Notifications (and their deliveries) older than KEEP["notifications"] go: the inbox is not an archive."""
    cutoff = utcnow() - current_app.config["KEEP"]["notifications"]
    old = select(Notification.id).where(Notification.created_at < cutoff)
    db.session.execute(delete(NotificationDelivery).where(NotificationDelivery.notification_id.in_(old)))
    return db.session.execute(delete(Notification).where(Notification.id.in_(old))).rowcount or 0
