"""Sending the notification outbox (NotificationDelivery): one row per notification and channel.

Rows are claimed the way the message outbox claims its own (app.messaging.outbox.claim_due_rows: on PostgreSQL
`FOR UPDATE SKIP LOCKED`, on both a conditional UPDATE), so consumers on several hosts never send one twice. The
claim is committed before anything is sent; a batch of claimed rows is then read in one transaction (which also
renews the claims and queues the SMS), its pushes sent by a bounded thread pool with no transaction open, and
their outcomes written in one more. A failed send waits 30 s, 1 min, 2 min … and is given up after
MAX_ATTEMPTS; its last error is kept. Push and SMS never go out in the user's quiet hours (held until they end).
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import select, tuple_, update

from app.auth.models import User
from app.billing import ledger
from app.db import begin_write, utcnow
from app.extensions import db
from app.messaging.outbox import CLAIM_LEASE, claim_due_rows, queue_message, retry_wait, settle_claim
from app.messaging.quiet import release_time
from app.notifications import push
from app.notifications.models import Channel, DeliveryStatus, Notification, NotificationDelivery, NotificationKind
from app.taskqueue import in_own_transaction

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
PUSH_BODY_CHARS = 300


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
    """Claim due deliveries (all, or those of `ids`) and send them as one batch: each SMS is queued in the
    transaction that settles it; the pushes go out several at once (NOTIFICATION_SEND_THREADS) with no transaction
    open while push services answer, and their outcomes are written together."""
    claimed = in_own_transaction(_claim, ids, limit)
    if not claimed:
        return Counter()
    outcomes, pushes = in_own_transaction(_prepare, claimed)
    if pushes:
        outcomes.update(in_own_transaction(_push, pushes))
    return outcomes


SWEEP_BATCH = 200  # deliveries per batch of the sweep: a reminder run leaves thousands at 07:00


def deliver_all_due(batches: int = 20) -> Counter:
    """The sweep: batch after batch until nothing is due (at most `batches`; the next sweep goes on)."""
    total = Counter()
    for _ in range(batches):
        outcomes = deliver_due(limit=SWEEP_BATCH)
        if not outcomes:
            break
        total.update(outcomes)
    return total


def _claim(ids, limit):
    begin_write(db.session)
    return claim_due_deliveries(ids, limit)


@dataclass(frozen=True)
class _Push:
    delivery: ClaimedDelivery
    hours: SimpleNamespace  # the user's quiet hours, for the time of a retry (release_time reads them)
    message: push.PushMessage


def _prepare(claimed: list[ClaimedDelivery]) -> tuple[Counter, list[_Push]]:
    """Renew the claims, read what to send, and settle what is not sent now (held for quiet hours, paid
    meanwhile) and the SMS (queued in this transaction). Returns the outcomes so far and the pushes to send."""
    begin_write(db.session)
    ours = _renew(claimed)
    outcomes = Counter({TAKEN: len(claimed) - len(ours)} if len(ours) < len(claimed) else {})
    rows = {notification.id: (notification, user) for notification, user in db.session.execute(
        select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.id.in_({delivery.notification_id for delivery in ours})))} if ours else {}
    paid = _paid_accounts([notification for notification, _user in rows.values()])
    now, pushes = utcnow(), []
    for delivery in ours:
        if delivery.notification_id not in rows:  # the user was erased (the delivery went with the notification)
            outcomes[DeliveryStatus.DEAD] += 1
            continue
        notification, user = rows[delivery.notification_id]
        held_until = release_time(user, now)
        if held_until > now:  # a retry or an expired claim that fell into quiet hours
            _settle(delivery, status=DeliveryStatus.PENDING, next_attempt_at=held_until,
                    attempts=NotificationDelivery.attempts - 1)
            outcomes[HELD] += 1
        elif notification.account_id in paid and notification.kind is NotificationKind.DUE_REMINDER:
            _settle(delivery, status=DeliveryStatus.DEAD, last_error="not sent: the bill was paid meanwhile")
            outcomes[DeliveryStatus.DEAD] += 1
        elif delivery.channel is Channel.PUSH:
            ttl = int(PUSH_TTL.get(notification.kind, DEFAULT_TTL).total_seconds())
            pushes.append(_Push(delivery, _quiet_hours(user), push.PushMessage(
                delivery.id, user.id, push_payload(notification), ttl, notification.urgency)))
        else:
            outcomes[_send_sms(delivery, notification, user)] += 1
    return outcomes, pushes


def _renew(claimed: list[ClaimedDelivery]) -> list[ClaimedDelivery]:
    """The claims still ours, their leases started again: one whose lease ran out before we got here (a stalled
    consumer) may have been claimed again by another, which sends it, not us."""
    renewed = set(db.session.scalars(
        update(NotificationDelivery)
        .where(tuple_(NotificationDelivery.id, NotificationDelivery.attempts)
               .in_([(delivery.id, delivery.attempts) for delivery in claimed]),
               NotificationDelivery.status == DeliveryStatus.SENDING)
        .values(next_attempt_at=utcnow() + CLAIM_LEASE)
        .returning(NotificationDelivery.id).execution_options(synchronize_session=False)))
    return [delivery for delivery in claimed if delivery.id in renewed]


def _paid_accounts(notifications: list[Notification]) -> set[int]:
    """The connections of these due-date reminders that are paid (or in credit) by now: a reminder held through
    the night (or retried) is not sent once the bill is paid."""
    accounts = {n.account_id for n in notifications
                if n.kind is NotificationKind.DUE_REMINDER and n.account_id is not None}
    return {account_id for account_id, balance in ledger.balances(accounts).items() if balance <= 0} \
        if accounts else set()


def _quiet_hours(user: User) -> SimpleNamespace:
    return SimpleNamespace(quiet_hours_start=getattr(user, "quiet_hours_start", None),
                           quiet_hours_end=getattr(user, "quiet_hours_end", None))


def _send_sms(delivery: ClaimedDelivery, notification: Notification, user: User):
    """Queue the SMS (the message outbox sends it, as its kind's DLT template with these variables) and settle
    the delivery, in this transaction."""
    try:
        if not user.mobile:
            raise NoAddress("no mobile number")
        if not notification.sms_kind:
            raise NoAddress("no SMS template for it")
        with db.session.begin_nested():  # a refused message leaves the rest of the batch as it was
            queue_message(user.mobile, notification.title, sms_text(notification), kind=notification.sms_kind,
                          params=notification.sms_params)
    except Exception as error:
        return _failed(delivery, user, error)
    _settle(delivery, status=DeliveryStatus.SENT, sent_at=utcnow(), last_error=None)
    return DeliveryStatus.SENT


def _push(pushes: list[_Push]) -> Counter:
    """Send the batch's pushes (after the commit of _prepare: no transaction is open meanwhile), then write each
    one's outcome with what the push services answered, in one transaction."""
    threads = current_app.config.get("NOTIFICATION_SEND_THREADS", 4)
    answers = push.push_batch([p.message for p in pushes], threads=threads)
    begin_write(db.session)  # (push_batch began it if it wrote anything)
    outcomes = Counter()
    for p in pushes:
        error = answers[p.delivery.id]
        if error is None:
            _settle(p.delivery, status=DeliveryStatus.SENT, sent_at=utcnow(), last_error=None)
            outcomes[DeliveryStatus.SENT] += 1
        else:
            outcomes[_failed(p.delivery, p.hours, error)] += 1
    return outcomes


class NoAddress(Exception):
    """Nothing to send to: given up at once."""


def push_payload(notification: Notification) -> dict:
    """What the service worker shows; opening it opens the inbox item (which marks it read, and has all of a long
    text: a phone shows a few lines, and a push message has room for about 4 KB)."""
    body = notification.body if len(notification.body) <= PUSH_BODY_CHARS else \
        notification.body[:PUSH_BODY_CHARS - 1] + "…"
    return {"title": notification.title, "body": body, "url": f"/notifications/{notification.id}",
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
