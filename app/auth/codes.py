"""One-time codes: six digits sent by SMS (or email) to prove that a person holds a mobile number, for one purpose
(verifying the user's own contact, linking a connection) and one subject (which connection).

A code belongs to the user who asked for it: nobody else can use it. Only an HMAC (keyed with SECRET_KEY) is
stored, so a copy of the table does not give the codes away even though there are only a million of them. A code
works once, for CODE_TTL, and dies after CODE_MAX_ATTEMPTS wrong tries; asking for a new one replaces it, at most
every CODE_RESEND_AFTER and CODE_SENDS_PER_USER an hour. Wrong codes are throttled per user and per address,
never per connection or per phone number: a guesser slows down only himself, and the holder's code always works.
The callers write the message (what it is for) and queue it; this module never sees where it goes.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.auth import throttle
from app.auth.models import OneTimeCode, PendingSignUp, User
from app.auth.throttle import Limit
from app.db import utcnow
from app.extensions import db

LENGTH = 6


class Purpose(StrEnum):
    VERIFY = "verify"  # the user's own mobile number (or email)
    LINK = "link"  # a connection, by a code sent to its registered mobile number
    SIGN_UP = "sign_up"  # a new account's mobile number, before the account exists (a PendingSignUp)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"  # try again
    SPENT = "spent"  # that was the last try for this code: ask for a new one
    EXPIRED = "expired"  # no code that works (expired, used, replaced, never sent): ask for a new one


def refusal(outcome: Outcome) -> str | None:
    """What the person is told when their code was not accepted (None when it was), wherever a code is typed."""
    return {
        Outcome.WRONG: _("That code is not right. Check the SMS and try again."),
        Outcome.SPENT: _("That code is not right, and it was the last try for it. Ask for a new code."),
        Outcome.EXPIRED: _("This code has expired. Ask for a new code."),
    }.get(outcome)


@dataclass
class TooSoon(Exception):
    """No new code yet (the last one was sent moments ago, or many were sent this hour); or too many wrong codes."""

    retry_at: datetime


@dataclass(frozen=True)
class Issued:
    code: str  # to put in the message, and nowhere else
    expires_at: datetime


def _digest(owner: int | str, purpose: Purpose, subject: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{owner}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** LENGTH):0{LENGTH}d}"


def _typed_matches(stored_hash: str | None, owner: int | str, purpose: Purpose, subject: str, typed: str) -> bool:
    typed = "".join((typed or "").split())
    expected = _digest(owner, purpose, subject, typed)
    # Compared even when nothing is stored, so a sign-up that got no code takes the same time as one that did.
    return hmac.compare_digest(stored_hash or "0" * len(expected), expected) and stored_hash is not None


def _config_limit(name: str) -> Limit:
    return Limit.from_config(current_app.config[name])


def _codes(user: User, purpose: Purpose, subject: str):
    return select(OneTimeCode).where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose.value,
                                     OneTimeCode.subject == subject)


def live_code(user: User, purpose: Purpose, subject: str, lock: bool = False) -> OneTimeCode | None:
    """The user's code that still works for this, if any (with `lock`, locked for this transaction)."""
    query = _codes(user, purpose, subject).where(
        OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > utcnow(),
        OneTimeCode.attempts < current_app.config["CODE_MAX_ATTEMPTS"],
    ).order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1)
    return db.session.scalar(query.with_for_update() if lock else query)


def next_send_at(user: User, purpose: Purpose, subject: str) -> datetime | None:
    """When the user may ask for another code for this, or None if they may now."""
    last_sent = db.session.scalar(
        select(OneTimeCode.created_at).where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose.value,
                                             OneTimeCode.subject == subject)
        .order_by(OneTimeCode.created_at.desc()).limit(1))
    cool_down_ends = last_sent + current_app.config["CODE_RESEND_AFTER"] if last_sent else None
    hourly = throttle.blocked_until("code_sent", str(user.id), _config_limit("CODE_SENDS_PER_USER"))
    waits = [moment for moment in (cool_down_ends, hourly) if moment and moment > utcnow()]
    return max(waits) if waits else None


def issue(user: User, purpose: Purpose, subject: str) -> Issued:
    """A new code for the user (any older one for the same thing stops working), or TooSoon."""
    retry_at = next_send_at(user, purpose, subject) or \
        throttle.attempt([("code_sent", str(user.id), _config_limit("CODE_SENDS_PER_USER"))])  # each one counts
    if retry_at:
        raise TooSoon(retry_at)
    now = utcnow()
    db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose.value,
               OneTimeCode.subject == subject, OneTimeCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    code = _new_code()
    expires_at = now + current_app.config["CODE_TTL"]
    db.session.add(OneTimeCode(user_id=user.id, purpose=purpose.value, subject=subject, created_at=now,
                               expires_at=expires_at, code_hash=_digest(user.id, purpose, subject, code)))
    db.session.flush()
    return Issued(code, expires_at)


def check(user: User, purpose: Purpose, subject: str, typed: str, ip: str) -> Outcome:
    """Whether `typed` is the user's live code for this; a right one is used up. Raises TooSoon when this user or
    this address typed too many wrong codes lately (their own guesses only: nobody else's code is affected)."""
    limits = [("code_wrong", str(user.id), _config_limit("CODE_WRONG_PER_USER")),
              ("code_wrong_ip", ip, _config_limit("CODE_WRONG_PER_IP"))]
    retry_at = throttle.attempt(limits)  # counted before the code is compared: parallel guesses count too
    if retry_at:
        raise TooSoon(retry_at)
    row = live_code(user, purpose, subject, lock=True)
    if row is None:
        throttle.forgive(limits)  # nothing was guessed
        return Outcome.EXPIRED
    if _typed_matches(row.code_hash, user.id, purpose, subject, typed):
        # Conditional: of two requests with the same code, only one uses it.
        used = db.session.execute(
            update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
            .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
        throttle.forgive(limits)
        return Outcome.ACCEPTED if used == 1 else Outcome.EXPIRED
    row.attempts += 1
    return Outcome.SPENT if row.attempts >= current_app.config["CODE_MAX_ATTEMPTS"] else Outcome.WRONG


def ttl_minutes() -> int:
    """How long a code works, in the minutes the messages and pages say."""
    return int(current_app.config["CODE_TTL"].total_seconds() // 60)


# --- Sign-up: the code proves the mobile number before there is a user, so it lives on the PendingSignUp row.
# The same rules hold: an HMAC only, CODE_TTL from when it was asked for, CODE_MAX_ATTEMPTS wrong tries, wrong
# codes throttled per sign-up and per address.


def _sign_up_owner(pending: PendingSignUp) -> str:
    return f"sign-up-{pending.id}"


def issue_for_sign_up(pending: PendingSignUp) -> str:
    """A new code for this sign-up (any earlier one stops working); the caller sends it."""
    code = _new_code()
    pending.code_hash = _digest(_sign_up_owner(pending), Purpose.SIGN_UP, pending.mobile, code)
    pending.attempts = 0
    return code


def sign_up_code_expires_at(pending: PendingSignUp) -> datetime:
    return min(pending.sent_at + current_app.config["CODE_TTL"], pending.expires_at)


def check_sign_up(pending: PendingSignUp, typed: str, ip: str) -> Outcome:
    """Whether `typed` is this sign-up's code. A sign-up whose number is already registered never got a code
    (the holder was warned instead): every code is wrong for it, exactly as a wrong guess is for any other."""
    limits = [("code_wrong", _sign_up_owner(pending), _config_limit("CODE_WRONG_PER_USER")),
              ("code_wrong_ip", ip, _config_limit("CODE_WRONG_PER_IP"))]
    retry_at = throttle.attempt(limits)
    if retry_at:
        raise TooSoon(retry_at)
    if pending.completed_at is not None or sign_up_code_expires_at(pending) <= utcnow() \
            or pending.attempts >= current_app.config["CODE_MAX_ATTEMPTS"]:
        throttle.forgive(limits)
        return Outcome.EXPIRED
    if _typed_matches(pending.code_hash, _sign_up_owner(pending), Purpose.SIGN_UP, pending.mobile, typed):
        throttle.forgive(limits)
        return Outcome.ACCEPTED
    pending.attempts += 1
    return Outcome.SPENT if pending.attempts >= current_app.config["CODE_MAX_ATTEMPTS"] else Outcome.WRONG
