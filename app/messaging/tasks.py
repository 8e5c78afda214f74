"""Tasks that send the message outbox (app.messaging.outbox).

A transaction that queued a message enqueues `send_messages` for it once it has committed
(taskqueue.after_commit); `sweep_outbox` runs every minute for messages whose send failed or whose enqueueing
was lost (the queue was down at that moment, or a consumer died holding a claim).
"""

import logging
from collections import Counter

from huey import crontab

from app.db import begin_write, utcnow
from app.extensions import db
from app.messaging import outbox
from app.messaging.models import MessageStatus
from app.messaging.senders import Message, PermanentSendError, message_sender
from app.taskqueue import in_own_transaction, periodic_task, task

log = logging.getLogger(__name__)


def deliver_due_messages(ids: list[int] | None = None) -> str:
    """Claim and send due messages (all, or those of `ids`). The claim is committed before the first send and
    each outcome right after its own send, each in a transaction of its own: a crash repeats at most the message
    being sent."""
    claimed = in_own_transaction(_claim, ids)
    sender = message_sender()
    outcomes = Counter(in_own_transaction(_deliver, sender, message) for message in claimed)
    return (f"{outcomes[MessageStatus.SENT]} messages sent, {outcomes[MessageStatus.PENDING]} to retry, "
            f"{outcomes[MessageStatus.DEAD]} given up")


def _claim(ids: list[int] | None):
    begin_write(db.session)
    return outbox.claim_due_messages(ids)


TAKEN = "taken"  # an outcome: the claim ran out and another consumer took the message (it sends it)


def _deliver(sender, message) -> MessageStatus | str:
    begin_write(db.session)
    if not outbox.still_ours(message):
        return TAKEN
    if message.expires_at is not None and message.expires_at <= utcnow():
        outbox.mark_expired(message)
        return MessageStatus.DEAD
    try:
        provider_ref = sender.send(Message(to=message.to, subject=message.subject, body=message.body or "",
                                           kind=message.kind, params=dict(message.params or {})))
    except PermanentSendError as error:  # trying again cannot help
        outbox.give_up(message, outbox.describe_error(error, message))
        log.warning("message %s (%s) to %s: given up, it cannot be sent (%s)", message.id, message.kind,
                    outbox.mask_address(message.to), outbox.describe_error(error, message))
        return MessageStatus.DEAD
    except Exception as error:
        status = outbox.mark_failed(message, outbox.describe_error(error, message))
        log.warning("message %s (%s) to %s: attempt %d failed (%s)%s", message.id, message.kind,
                    outbox.mask_address(message.to), message.attempts, type(error).__name__,
                    "; given up" if status is MessageStatus.DEAD else "")
        return status
    outbox.mark_sent(message, provider_ref)
    return MessageStatus.SENT


@task(retries=5, retry_delay=30)
def send_messages(ids: list[int]) -> str:
    """Send these just-committed messages now."""
    return deliver_due_messages(ids)


@periodic_task(crontab(minute="*"), retries=2, retry_delay=20)
def sweep_outbox() -> str:
    """Send every message that is due (a failed send's retry, a lost enqueue, an expired claim)."""
    return deliver_due_messages()


@periodic_task(crontab(minute="41"), retries=2, retry_delay=60)
def prune_sent_messages() -> str:
    return f"{outbox.prune_settled_messages()} old outbox messages removed"
