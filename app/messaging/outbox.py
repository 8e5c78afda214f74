"""The message outbox: a text to a person (a reset link, an SMS) is written in the transaction that decided to send
it and leaves only after that transaction commits: never before, and never when it rolls back.

`queue_message()` adds a row to the session (and nothing else). After the commit the task queue sends it
(app.messaging.tasks): the rows are claimed first (on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, on both a
conditional UPDATE), so two consumers never send one message twice; a claim that was never settled (its consumer
died) can be taken again once its lease runs out. A failed send waits 30 s, 1 min, 2 min … (at most an hour) and is
given up after MAX_ATTEMPTS, or at once when the sender says trying again cannot help (PermanentSendError: no DLT
template for the kind, an invalid number). Once sent or given up, the body and the template variables (they may
hold a reset token or a one-time code) are wiped and the address masked. Neither is ever logged.
"""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, inspect, select, update

from app.db import utcnow
from app.extensions import db
from app.messaging.kinds import check_variables, message_kind
from app.messaging.models import MessageStatus, OutboundMessage
from app.taskqueue import after_commit

CLAIM_LEASE = timedelta(minutes=5)  # a claimed message not settled by then (its consumer died) is due again
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 8
KEEP_SETTLED = timedelta(days=30)  # sent and given-up rows (wiped) are kept this long, then deleted
_OPEN = (MessageStatus.PENDING, MessageStatus.SENDING)


def queue_message(to: str, subject: str, body: str, expires_at: datetime | None = None, *, kind: str,
                  params: dict[str, str] | None = None, not_before: datetime | None = None) -> OutboundMessage:
    """Put a message in the outbox, in the caller's transaction: it is sent after the commit.

    `kind` (app.messaging.kinds.MessageKind) says what it is for: by SMS it picks the DLT template. `body` is the
    whole text (console, email); `params` are the template's variables, which a template provider (MSG91) sends
    instead of the body: give both, saying the same thing. A kind without a template configured is not sent by
    SMS (given up with that reason); an email address does not need one. With `not_before` (the end of quiet
    hours) it waits until then, and the outbox sweep sends it."""
    kind = message_kind(kind)
    params = _checked_params(params)
    check_variables(kind, set(params or ()))
    now = utcnow()
    message = OutboundMessage(to=to, subject=subject, body=body, expires_at=expires_at, kind=kind.value,
                              params=params, next_attempt_at=max(not_before or now, now))
    db.session.add(message)
    if message.next_attempt_at <= now:
        after_commit(functools.partial(send_after_commit, message))
    return message


def _checked_params(params: dict[str, str] | None) -> dict[str, str] | None:
    """Template variables are named text (a number is formatted by the caller, as the text around it is)."""
    if not params:
        return None
    for name, value in params.items():
        if not (isinstance(name, str) and name.isidentifier() and isinstance(value, str)):
            raise TypeError(f"template variable {name!r}: a name and a str value are needed")
    return dict(params)


def send_after_commit(message: OutboundMessage) -> None:
    """Enqueue the sending of a message just committed (the outbox sweep sends it if this fails)."""
    from app.messaging.tasks import send_messages  # the task module imports this one

    identity = inspect(message).identity  # no query: the key survives the commit
    if identity:
        send_messages([identity[0]])


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    to: str
    subject: str
    body: str | None
    kind: str
    params: dict[str, str] | None
    expires_at: datetime | None
    attempts: int  # including this one


def claim_due_rows(model, open_statuses, claimed_status, returning, ids: list[int] | None = None, limit: int = 50,
                   lease: timedelta = CLAIM_LEASE) -> list:
    """Claim the due rows of an outbox table (`model` has id, status, attempts, next_attempt_at) for this consumer
    until `lease` has passed: their status becomes `claimed_status`, their attempts go up by one, and the
    `returning` columns of each are returned (ordered by id). Shared by every outbox (messages, notifications).
    The caller commits the claim before sending, so no lock is held while a provider answers."""
    now = utcnow()
    due = (select(model.id)
           .where(model.status.in_(open_statuses), model.next_attempt_at <= now)
           .order_by(model.next_attempt_at, model.id).limit(limit))
    if ids is not None:
        due = due.where(model.id.in_(ids))
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)  # another consumer's rows are skipped, not waited for
    candidates = list(db.session.scalars(due))
    if not candidates:
        return []
    # The same conditions again: on SQLite this UPDATE is the claim (a row another consumer claimed first no
    # longer matches); on PostgreSQL the rows are already locked by the SELECT above.
    rows = db.session.execute(
        update(model)
        .where(model.id.in_(candidates), model.status.in_(open_statuses), model.next_attempt_at <= now)
        .values(status=claimed_status, attempts=model.attempts + 1, next_attempt_at=now + lease)
        .returning(*returning)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(rows, key=lambda row: row[0])


def claim_due_messages(ids: list[int] | None = None, limit: int = 50) -> list[ClaimedMessage]:
    """Claim messages that are due (all, or those of `ids`) for this consumer until CLAIM_LEASE has passed."""
    rows = claim_due_rows(OutboundMessage, _OPEN, MessageStatus.SENDING,
                          (OutboundMessage.id, OutboundMessage.to, OutboundMessage.subject, OutboundMessage.body,
                           OutboundMessage.kind, OutboundMessage.params, OutboundMessage.expires_at,
                           OutboundMessage.attempts), ids, limit)
    return [ClaimedMessage(*row) for row in rows]


def retry_wait(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 30 s, 1 min, 2 min, 4 min … at most an hour."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def mask_address(to: str) -> str:
    """Enough of an address to recognise it in a log or a kept row, not to use it: +91…1111, r…@example.com."""
    if "@" in to:
        local, _at, domain = to.partition("@")
        return f"{local[:1]}…@{domain}"
    return f"{to[:3]}…{to[-4:]}" if len(to) > 8 else "…"


def _still_ours(model, claimed_status, claimed):
    """A claimed row is ours while it is still claimed with our attempt: once our lease ran out, another consumer
    may have claimed it again (its attempts went up) or settled it."""
    return (model.id == claimed.id, model.status == claimed_status, model.attempts == claimed.attempts)


def renew_claim(model, claimed_status, claimed, lease: timedelta = CLAIM_LEASE) -> bool:
    """Called right before sending a claimed row: False when it is no longer ours (then it must not be sent), else
    its lease starts again, so a lease has to cover one send, not a whole batch of them."""
    result = db.session.execute(update(model).where(*_still_ours(model, claimed_status, claimed))
                                .values(next_attempt_at=utcnow() + lease)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def settle_claim(model, claimed_status, claimed, **values) -> None:
    """Record the outcome of a claimed row, unless it is no longer ours (another consumer's outcome stands)."""
    db.session.execute(update(model).where(*_still_ours(model, claimed_status, claimed))
                       .values(**values).execution_options(synchronize_session=False))


def _settle(message: ClaimedMessage, **values) -> None:
    settle_claim(OutboundMessage, MessageStatus.SENDING, message, **values)


def _wiped(message: ClaimedMessage) -> dict:
    """What a settled message keeps of its text: nothing but a masked address."""
    return {"body": None, "params": None, "to": mask_address(message.to)}


def still_ours(message: ClaimedMessage) -> bool:
    return renew_claim(OutboundMessage, MessageStatus.SENDING, message)


def mark_sent(message: ClaimedMessage, provider_ref: str | None = None) -> None:
    _settle(message, status=MessageStatus.SENT, sent_at=utcnow(), last_error=None,
            provider_ref=provider_ref[:100] if provider_ref else None, **_wiped(message))


def mark_expired(message: ClaimedMessage) -> None:
    give_up(message, "expired before it could be sent")


def give_up(message: ClaimedMessage, error: str) -> None:
    _settle(message, status=MessageStatus.DEAD, last_error=error, **_wiped(message))


def describe_error(error: Exception, message: ClaimedMessage) -> str:
    """The error as stored: its type and text, with the address masked (also as a provider writes it, without the
    +) and the body and the template variables left out."""
    text = f"{type(error).__name__}: {error}"
    for address in (message.to, message.to.lstrip("+")):
        text = text.replace(address, mask_address(message.to))
    for secret in (message.body, *(message.params or {}).values()):
        if secret and len(secret) >= 4:  # a code or a link; not "30" (minutes), which would garble the text
            text = text.replace(secret, "…")
    return text[:300]


def mark_failed(message: ClaimedMessage, error: str) -> MessageStatus:
    """Record a failed attempt: try again after retry_wait, or give up after MAX_ATTEMPTS."""
    if message.attempts >= MAX_ATTEMPTS:
        give_up(message, error)
        return MessageStatus.DEAD
    _settle(message, status=MessageStatus.PENDING, next_attempt_at=utcnow() + retry_wait(message.attempts),
            last_error=error)
    return MessageStatus.PENDING


def prune_settled_messages() -> int:
    """Delete sent and given-up messages older than KEEP_SETTLED (their bodies are long gone)."""
    result = db.session.execute(
        delete(OutboundMessage).where(OutboundMessage.status.in_([MessageStatus.SENT, MessageStatus.DEAD]),
                                      OutboundMessage.created_at < utcnow() - KEEP_SETTLED)
    )
    return result.rowcount or 0
