"""Sign-up, sign-in, password change and reset. Views call these; these write the users' tables."""

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import codes, devices, privacy, sign_ins, throttle
from app.auth.codes import Outcome, Purpose
from app.auth.contacts import normalise_email, normalise_mobile
from app.auth.models import OneTimeCode, PasswordResetToken, PendingSignUp, Role, User
from app.auth.passwords import hash_password, needs_rehash, spend_verify_time, verify_password
from app.auth.signals import user_erased
from app.auth.throttle import Limit
from app.db import utcnow
from app.extensions import db
from app.messaging.kinds import MessageKind
from app.messaging.outbox import queue_message
from app.taskqueue import after_commit
from app.web.site import external_url


class AuthError(Exception):
    """A refusal whose message may be shown to the user as it is."""


@dataclass
class LoginLocked(AuthError):
    retry_at: datetime


class AccountLocked(AuthError):
    """The password is right, but staff locked the account (or switched the staff member off)."""


def find_user(login: str, lock: bool = False) -> User | None:
    """A user by email or mobile number, as typed. With `lock`, the row is locked for this transaction, so
    parallel sign-in attempts on one account are counted one after another (PostgreSQL; SQLite's write
    transactions already queue)."""
    if "@" in (login or ""):
        value, column = normalise_email(login), User.email
    else:
        value, column = normalise_mobile(login), User.mobile
    if value is None:
        return None
    query = select(User).where(column == value)
    return db.session.scalar(query.with_for_update() if lock else query)


def register_user(name: str, password: str, mobile: str | None = None, email: str | None = None,
                  role: Role = Role.CUSTOMER) -> User:
    """A new user, at once (the command line and the demo; customers sign up through start_sign_up)."""
    user = User(
        name=name.strip(),
        mobile=normalise_mobile(mobile) if mobile else None,
        email=normalise_email(email) if email else None,
        password_hash=hash_password(password),
        role=role,
        # A customer proves their mobile number (or email) with a code first; staff are made by an admin.
        verified_at=utcnow() if role.is_staff else None,
    )
    if not (user.mobile or user.email):
        raise AuthError(_("Give a mobile number or an email address."))
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise AuthError(_("This mobile number or email is already registered. Sign in instead.")) from None
    audit.record("user.registered", user, {"role": user.role.value}, actor=user)
    return user


# --- Sign-up. The form's answer, its time and its SQL are the same whether or not the number is registered: the
# request stores a PendingSignUp and enqueues a task; the task looks the number up and sends either the code or,
# to a registered number's holder, a warning. The account is made when the code is typed (complete_sign_up).


def start_sign_up(name: str, mobile: str, password: str, locale: str, ip: str, root_url: str) -> PendingSignUp:
    """A sign-up waiting for its code. Sign-ups from one address are throttled (which also slows probing)."""
    limit = Limit.from_config(current_app.config["REGISTER_LIMIT_PER_IP"])
    retry_at = throttle.attempt([("register_ip", ip, limit)])  # every sign-up counts
    if retry_at:
        raise LoginLocked(retry_at)
    now = utcnow()
    pending = PendingSignUp(mobile=normalise_mobile(mobile), name=name.strip(), password_hash=hash_password(password),
                            locale=locale, privacy_version=privacy.current_version(), created_at=now, sent_at=now,
                            expires_at=now + current_app.config["SIGN_UP_TTL"])
    db.session.add(pending)
    db.session.flush()
    _send_sign_up_message_after_commit(pending, root_url)
    return pending


def _send_sign_up_message_after_commit(pending: PendingSignUp, root_url: str) -> None:
    from app.auth.tasks import send_sign_up_message  # the task module imports this one

    after_commit(functools.partial(send_sign_up_message, pending.id, root_url))


def live_sign_up(pending_id: int | None, lock: bool = False) -> PendingSignUp | None:
    """The sign-up this browser started, if it is still open (not completed, not expired)."""
    if not isinstance(pending_id, int):
        return None
    pending = db.session.get(PendingSignUp, pending_id, with_for_update=lock)
    if pending is None or pending.completed_at is not None or pending.expires_at <= utcnow():
        return None
    return pending


def sign_up_resend_at(pending: PendingSignUp) -> datetime | None:
    """When another code may be asked for (the same for every sign-up, whatever its number), or None if now."""
    ready = pending.sent_at + current_app.config["CODE_RESEND_AFTER"]
    return ready if ready > utcnow() else None


def resend_sign_up_code(pending: PendingSignUp, root_url: str) -> None:
    retry_at = sign_up_resend_at(pending)
    if retry_at:
        raise codes.TooSoon(retry_at)
    pending.sent_at = utcnow()
    _send_sign_up_message_after_commit(pending, root_url)


def send_sign_up_message(pending_id: int, root_url: str) -> None:
    """In the task: the code to a new number; to a registered one, a warning to its holder and no code."""
    pending = live_sign_up(pending_id, lock=True)
    if pending is None:
        return
    # A few messages an hour per number, however many sign-ups name it: nobody's phone is flooded.
    per_number = Limit.from_config(current_app.config["CODE_SENDS_PER_USER"])
    if throttle.attempt([("sign_up_sms", pending.mobile, per_number)]):
        return
    holder = find_user(pending.mobile)
    if holder is not None:
        pending.code_hash = None
        _warn_holder(holder, root_url)
        return
    code = codes.issue_for_sign_up(pending)
    with force_locale(pending.locale):
        queue_message(
            to=pending.mobile,
            subject=_("Your D-Tech code"),
            body=_("%(code)s is your code to confirm your D-Tech account. It works for %(minutes)d minutes. Never "
                   "share it with anyone, not even our staff.", code=code, minutes=codes.ttl_minutes()),
            expires_at=codes.sign_up_code_expires_at(pending), kind=MessageKind.OTP, params={"code": code},
        )


def _warn_holder(holder: User, root_url: str) -> None:
    with current_app.test_request_context(base_url=root_url):
        link = external_url("auth.forgot_password")  # never a forged Host: it goes to the real holder
    with force_locale(holder.locale):
        queue_message(
            to=holder.mobile,
            subject=_("Someone tried to sign up with your number"),
            body=_("Someone tried to create a %(utility)s account with your mobile number, which already has one. "
                   "No account was made. If it was you and you forgot your password, choose a new one at %(link)s",
                   utility=current_app.config["UTILITY_NAME"], link=link),
            expires_at=utcnow() + timedelta(days=1), kind=MessageKind.SIGN_UP_WARNING, params={"link": link},
        )


def complete_sign_up(pending_id: int, typed_code: str, ip: str) -> User:
    """The code is right: the account is made (its number proved), with the consent given on the form."""
    pending = live_sign_up(pending_id, lock=True)
    if pending is None:
        raise AuthError(_("This code has expired. Ask for a new code."))
    try:
        outcome = codes.check_sign_up(pending, typed_code, ip)
    except codes.TooSoon as wait:
        raise LoginLocked(wait.retry_at) from None
    _refuse_unless_accepted(outcome)
    pending.completed_at = utcnow()
    user = User(name=pending.name, mobile=pending.mobile, password_hash=pending.password_hash,
                role=Role.CUSTOMER, locale=pending.locale, verified_at=pending.completed_at)
    try:
        with db.session.begin_nested():  # users.mobile is unique: two sign-ups of one number make one account
            db.session.add(user)
    except IntegrityError:
        # Only the number's holder has a code to get here: telling them is no leak.
        raise AuthError(_("This mobile number or email is already registered. Sign in instead.")) from None
    privacy.record_consent(user, pending.privacy_version, accepted_at=pending.created_at)
    audit.record("user.registered", user, {"role": user.role.value}, actor=user)
    return user


def _refuse_unless_accepted(outcome: Outcome) -> None:
    if message := codes.refusal(outcome):
        raise AuthError(message)


def _contact_kind(user: User) -> str:
    return "mobile" if user.mobile else "email"


def send_verification_code(user: User) -> None:
    """A code to the user's mobile number (or email, if they gave only that). codes.TooSoon if asked too often."""
    issued = codes.issue(user, Purpose.VERIFY, _contact_kind(user))
    minutes = codes.ttl_minutes()
    with force_locale(user.locale):
        queue_message(
            to=user.mobile or user.email,
            subject=_("Your D-Tech code"),
            body=_("%(code)s is your code to confirm your D-Tech account. It works for %(minutes)d minutes. Never "
                   "share it with anyone, not even our staff.", code=issued.code, minutes=minutes),
            expires_at=issued.expires_at, kind=MessageKind.OTP, params={"code": issued.code},
        )


def verify_contact(user: User, typed_code: str, ip: str) -> None:
    """The user typed the code we sent them: they hold that mobile number (or email). AuthError if not."""
    try:
        outcome = codes.check(user, Purpose.VERIFY, _contact_kind(user), typed_code, ip)
    except codes.TooSoon as wait:
        raise LoginLocked(wait.retry_at) from None
    _refuse_unless_accepted(outcome)
    user.verified_at = utcnow()
    audit.record("user.verified", user, {"contact": _contact_kind(user)}, actor=user)


def _login_key(login: str) -> str:
    """Throttle by the normalised login, whether or not such a user exists (no account probing)."""
    return normalise_email(login) if "@" in login else (normalise_mobile(login) or login.strip())


def authenticate(login: str, password: str, ip: str) -> User:
    """The user these credentials belong to, or AuthError / LoginLocked. Failures are counted per address and per
    account; an account's limit locks out new devices only: on a device it signed in on before, its own
    failures are counted apart (devices.py), so nobody can lock the owner out by guessing."""
    config = current_app.config
    user = find_user(login, lock=True)
    account_key = ("login_known", str(user.id)) if user and devices.is_known(user.id) else ("login", _login_key(login))
    limits = [(*account_key, Limit.from_config(config["LOGIN_LIMIT_PER_ACCOUNT"])),
              ("login_ip", ip, Limit.from_config(config["LOGIN_LIMIT_PER_IP"]))]
    retry_at = throttle.attempt(limits)  # counted before the password is checked: parallel guesses count too
    if retry_at:
        raise LoginLocked(retry_at)

    if user is None:
        spend_verify_time()
    password_right = user is not None and verify_password(user.password_hash, password)
    if not password_right or not user.active:
        if password_right:
            # Said only to whoever knows the password: nobody learns from it whether an account exists.
            raise AccountLocked(_("This account is locked. Call or visit our office to have it unlocked."))
        raise AuthError(_("The mobile number, email or password is not right."))

    throttle.forgive(limits)
    throttle.clear(*account_key)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def verify_staff(login: str, password: str) -> User:
    """A staff member proving who they are (on the command line): AuthError unless `password` is theirs."""
    user = find_user(login, lock=True)
    guards = [("login", _login_key(login), Limit.from_config(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]))]
    retry_at = throttle.attempt(guards)
    if retry_at:
        raise LoginLocked(retry_at)
    if user is None or not user.is_staff or not user.active or not verify_password(user.password_hash, password):
        if user is None:
            spend_verify_time()
        raise AuthError("not a staff member, or the password is not right")
    throttle.forgive(guards)
    return user


def set_password(user: User, new_password: str) -> None:
    """Set a new password and end every other session of this user (their cookies stop working)."""
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    audit.record("user.password_changed", user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Wrong current passwords count against the limit of this signed-in device's sign-ins (a borrowed phone must
    not be a way to guess the password; a guesser elsewhere cannot block the owner's change)."""
    guards = [("login_known", str(user.id), Limit.from_config(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]))]
    retry_at = throttle.attempt(guards)
    if retry_at:
        raise LoginLocked(retry_at)
    if not verify_password(user.password_hash, current_password):
        raise AuthError(_("Your current password is not right."))
    throttle.forgive(guards)
    set_password(user, new_password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password_link(user: User, ttl: timedelta) -> tuple[str, datetime]:
    """A one-time link (/reset?token=…) to choose a new password, working until the time returned. Only the
    token's hash is stored. Resets and a new staff member's first password both use it."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + ttl
    db.session.add(PasswordResetToken(user_id=user.id, token_hash=_token_hash(token), expires_at=expires_at))
    return external_url("auth.reset_password", token=token), expires_at


def request_password_reset(login: str, ip: str, root_url: str) -> None:
    """Ask for a reset link to be sent if such a user exists. The request itself does the same work either way
    (the throttle, and a task enqueued after the commit), so neither its answer nor its time tells anyone whether
    the number or email is registered; the task looks the user up and sends the link."""
    limit = Limit.from_config(current_app.config["RESET_LIMIT_PER_IP"])
    retry_at = throttle.attempt([("reset_ip", ip, limit)])  # every request counts, not only failed ones
    if retry_at:
        raise LoginLocked(retry_at)
    from app.auth.tasks import send_password_reset  # the task module imports this one

    after_commit(functools.partial(send_password_reset, login, root_url))


def send_reset_link(login: str, root_url: str) -> None:
    """The reset link, to the user `login` names, if there is one (in the task; `root_url` is the site's address,
    as the request that asked for it saw it)."""
    user = find_user(login)
    if user is None or not user.active:
        return
    # A few links an hour per person: nobody's phone is flooded, and the page says the same either way.
    per_user = Limit.from_config(current_app.config["RESET_LIMIT_PER_USER"])
    if throttle.attempt([("reset_user", str(user.id), per_user)]):
        return
    with current_app.test_request_context(base_url=root_url):  # the link is made as the request would make it
        link, expires_at = new_password_link(user, current_app.config["PASSWORD_RESET_TTL"])
    minutes = int(current_app.config["PASSWORD_RESET_TTL"].total_seconds() // 60)
    with force_locale(user.locale):  # in the language the user chose, whoever asked for it
        queue_message(  # sent after the commit, and not at all if this transaction rolls back
            to=user.email if "@" in login else user.mobile,
            subject=_("Reset your %(utility)s password", utility=current_app.config["UTILITY_NAME"]),
            body=_("Open this link within %(minutes)d minutes to choose a new password: %(link)s\n"
                   "If you did not ask for it, ignore this message.", minutes=minutes, link=link),
            expires_at=expires_at,
            kind=MessageKind.PASSWORD_RESET,
            params={"link": link, "minutes": str(minutes)},  # the DLT template's variables (SMS)
        )


def reset_password(token: str, new_password: str) -> User:
    """Use a reset token once: the conditional update lets only one request consume it."""
    now = utcnow()
    consumed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == _token_hash(token),
               PasswordResetToken.used_at.is_(None),
               PasswordResetToken.expires_at > now)
        .values(used_at=now)
        .returning(PasswordResetToken.user_id)
    ).scalar_one_or_none()
    if consumed is None:
        raise AuthError(_("This reset link has expired or was already used. Ask for a new one."))
    user = db.session.get(User, consumed)
    set_password(user, new_password)
    for login in filter(None, (user.mobile, user.email)):  # the owner proved who they are: the lock is lifted
        throttle.clear("login", _login_key(login))
    # Any other link sent to this user stops working too.
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    return user


def reset_token_is_usable(token: str) -> bool:
    return db.session.scalar(
        select(PasswordResetToken.id).where(
            PasswordResetToken.token_hash == _token_hash(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > utcnow(),
        )
    ) is not None


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: the cookie holds 'id:session_version', so old cookies stop working."""
    user_id, _sep, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user


def erase_user(user: User, password: str) -> None:
    """Erase a customer's personal data at their request. Their connections' bills, payments and ledger stay
    (the law on accounts requires them), but nothing links them to this person any more: each domain deletes
    or blanks its own rows on the user_erased signal (links, inbox, complaint messages, meter photos). What
    happens to each table is listed in app/portal/export.py (USER_COLUMNS), which a test holds to the models."""
    if not verify_password(user.password_hash, password):
        raise AuthError(_("Your password is not right."))
    user_erased.send(user)
    sign_ins.forget(user.id)
    for model in (OneTimeCode, PasswordResetToken):
        db.session.execute(delete(model).where(model.user_id == user.id))
    if user.mobile:
        db.session.execute(delete(PendingSignUp).where(PendingSignUp.mobile == user.mobile))
    # The consents stay (privacy.py): the proof that the data was processed with consent, naming nobody now.
    audit.record("user.erased", user, {}, actor=user)
    db.session.flush()
    audit.forget_addresses(actor_id=user.id)  # where they acted from (this too): the actions themselves stay
    user.name = "Erased user"
    user.mobile = None
    user.email = f"erased-{user.id}@erased.invalid"  # a contact is required; this one reaches nobody
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.active = False
    user.session_version += 1
    user.erased_at = utcnow()
