"""Sending the notification outbox (NotificationDelivery): one row per notification and channel.

Rows are claimed the way the message outbox claims its own (app.messaging.outbox.claim_due_rows: on PostgreSQL
`FOR UPDATE SKIP LOCKED`, on both a conditional UPDATE), so consumers on several hosts never send one twice. The
claim is committed before anything is sent; the claimed rows are then sent by a bounded thread pool, each send
and its outcome in a transaction of its own. A failed send waits 30 s, 1 min, 2 min … and is given up after
MAX_ATTEMPTS; its last error is kept. Push and SMS never go out in the user's quiet hours (held until they end).
"""

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.auth.models import User
from app.billing import ledger
from app.db import begin_write, utcnow
from app.extensions import db
from app.messaging.outbox import claim_due_rows, queue_message, renew_claim, retry_wait, settle_claim
from app.messaging.quiet import release_time
from app.notifications import push
from app.notifications.models import Channel, DeliveryStatus, Notification, NotificationDelivery, NotificationKind
from app.taskqueue import end_reading, in_own_transaction

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.SENDING)  # SENDING: once its lease ran out
HELD = "held"  # an outcome: put back until quiet hours end
TAKEN = "taken"  # an outcome: the lease ran out and another consumer claimed it again

# How long a push service keeps trying to reach an offline phone, by kind: a reminder must survive a phone left
# off for a weekend; an announcement is worthless once stale.
PUSH_TTL = {
    NotificationKind.DUE_REMINDER: timedelta(days=3),
    NotificationKind.BILL_ISSUED: timedelta(days=3),
    NotificationKind.PAYMENT: timedelta(days=1),
    NotificationKind.USAGE_ALERT: timedelta(days=1),
    NotificationKind.ANNOUNCEMENT: timedelta(days=1),
}
DEFAULT_TTL = timedelta(days=1)


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    notification_id: int
    channel: Channel
    attempts: int  # including this one


def claim_due_deliveries(ids: list[int] | None = None, limit: int = 50) -> list[ClaimedDelivery]:
    rows = claim_due_rows(NotificationDelivery, OPEN, DeliveryStatus.SENDING,
                          (NotificationDelivery.id, NotificationDelivery.notification_id,
                           NotificationDelivery.channel, NotificationDelivery.attempts), ids, limit)
    return [ClaimedDelivery(*row) for row in rows]


def deliver_due(ids: list[int] | None = None, limit: int = 50) -> Counter:
    """Claim due deliveries (all, or those of `ids`) and send them, several at once."""
    claimed = in_own_transaction(_claim, ids, limit)
    if not claimed:
        return Counter()
    threads = min(current_app.config.get("NOTIFICATION_SEND_THREADS", 4), len(claimed))
    if threads <= 1:
        return Counter(in_own_transaction(_send, delivery) for delivery in claimed)
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="notify") as pool:
        return Counter(pool.map(lambda delivery: _send_in_thread(app, delivery), claimed))


def deliver_all_due(batches: int = 20) -> Counter:
    """The sweep: batch after batch until nothing is due (at most `batches`; the next sweep goes on)."""
    total = Counter()
    for _ in range(batches):
        outcomes = deliver_due()
        if not outcomes:
            break
        total.update(outcomes)
    return total


def _claim(ids, limit):
    begin_write(db.session)
    return claim_due_deliveries(ids, limit)


def _send_in_thread(app, delivery: ClaimedDelivery):
    with app.app_context():  # a session of its own
        try:
            return in_own_transaction(_send, delivery)
        except Exception:
            log.exception("delivery %s: unexpected error; its lease runs out and it is tried again", delivery.id)
            return DeliveryStatus.FAILED
        finally:
            db.session.remove()


def _send(delivery: ClaimedDelivery):
    """Renew the claim and read, then send, then write: no write lock (SQLite) or snapshot is held while a push
    service answers."""
    begin_write(db.session)
    if not renew_claim(NotificationDelivery, DeliveryStatus.SENDING, delivery):
        return TAKEN  # our lease ran out (a slow batch) and another consumer took it: it sends it, not us
    row = db.session.execute(select(Notification, User).join(User, User.id == Notification.user_id)
                             .where(Notification.id == delivery.notification_id)).first()
    if row is None:  # the user was erased meanwhile (the delivery went with the notification)
        return DeliveryStatus.DEAD
    notification, user = row
    now = utcnow()
    held_until = release_time(user, now)
    if held_until > now:  # a retry or an expired claim that fell into quiet hours
        _settle(delivery, status=DeliveryStatus.PENDING, next_attempt_at=held_until,
                attempts=NotificationDelivery.attempts - 1)
        return HELD
    if _paid_meanwhile(notification):
        _settle(delivery, status=DeliveryStatus.DEAD, last_error="not sent: the bill was paid meanwhile")
        return DeliveryStatus.DEAD
    if delivery.channel is Channel.PUSH:
        end_reading()  # the renewed lease is committed; push_to_user reads, sends and writes on its own
    # (an SMS is queued in the transaction that settles its delivery)
    try:
        _send_on_channel(delivery.channel, notification, user)
    except Exception as error:
        begin_write(db.session)
        return _failed(delivery, user, error)
    begin_write(db.session)
    _settle(delivery, status=DeliveryStatus.SENT, sent_at=utcnow(), last_error=None)
    return DeliveryStatus.SENT


def _paid_meanwhile(notification: Notification) -> bool:
    """A reminder held through the night (or retried) is not sent once the bill is paid."""
    return (notification.kind is NotificationKind.DUE_REMINDER and notification.account_id is not None
            and ledger.balance(notification.account_id) <= 0)


def _send_on_channel(channel: Channel, notification: Notification, user: User) -> None:
    if channel is Channel.PUSH:
        push.push_to_user(user.id, push_payload(notification),
                          ttl=int(PUSH_TTL.get(notification.kind, DEFAULT_TTL).total_seconds()),
                          urgency=notification.urgency)
    elif channel is Channel.SMS:
        if not user.mobile:
            raise NoAddress("no mobile number")
        if not notification.sms_kind:
            raise NoAddress("no SMS template for it")
        # The message outbox sends it: a template provider sends the kind's DLT template with these variables.
        queue_message(user.mobile, notification.title, sms_text(notification), kind=notification.sms_kind,
                      params=notification.sms_params)
    else:
        raise NoAddress(f"{channel} is not sent")


class NoAddress(Exception):
    """Nothing to send to: given up at once."""


def push_payload(notification: Notification) -> dict:
    """What the service worker shows; opening it opens the inbox item (which marks it read)."""
    return {"title": notification.title, "body": notification.body, "url": f"/notifications/{notification.id}",
            "tag": f"{notification.kind}-{notification.id}"}


def sms_text(notification: Notification) -> str:
    return f"{notification.title}: {notification.body}"


def _failed(delivery: ClaimedDelivery, user: User, error: Exception):
    text = f"{type(error).__name__}: {error}"[:300]
    give_up = isinstance(error, (NoAddress, push.PushUndelivered)) or delivery.attempts >= MAX_ATTEMPTS
    log.warning("delivery %s (%s): attempt %d failed (%s)%s", delivery.id, delivery.channel, delivery.attempts,
                type(error).__name__, "; given up" if give_up else "")
    if give_up:
        _settle(delivery, status=DeliveryStatus.DEAD, last_error=text)
        return DeliveryStatus.DEAD
    wait = retry_wait(delivery.attempts)
    if isinstance(error, push.PushRetry) and error.retry_after:  # the push service said how long (429)
        wait = max(wait, timedelta(seconds=error.retry_after))
    _settle(delivery, status=DeliveryStatus.FAILED, last_error=text,
            next_attempt_at=release_time(user, utcnow() + wait))
    return DeliveryStatus.FAILED


def _settle(delivery: ClaimedDelivery, **values) -> None:
    settle_claim(NotificationDelivery, DeliveryStatus.SENDING, delivery, **values)
