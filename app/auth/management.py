"""An admin's changes to people: staff created with a link to choose their first password, their role and
office changed, staff switched off and on, customers locked and unlocked. Each is audited with the values
before and after; switching someone off or locking them ends their sessions (session_version).

Nobody changes their own role, office or state here (no admin locks themselves out), and the last active
head-office admin stays one: the rows of the head-office admins are locked first, so two admins demoting each
other at the same moment cannot both succeed."""

import secrets

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth.contacts import normalise_email, normalise_mobile
from app.auth.models import Role, User
from app.auth.passwords import hash_password
from app.auth.services import AuthError, new_password_link
from app.db import utcnow
from app.extensions import db
from app.messaging.kinds import MessageKind
from app.messaging.outbox import queue_message


class ManagementRefused(AuthError):
    """A change the admin may not make; the message says why."""


def _state(user: User) -> dict:
    return {"role": user.role.value, "office": user.office, "active": user.active}


def _is_head_office_admin(user: User) -> bool:
    return user.role is Role.ADMIN and user.office is None and user.active


def _keep_one_head_office_admin(target: User) -> None:
    """Refuse a change that would leave no active head-office admin (call it before changing `target`)."""
    if not _is_head_office_admin(target):
        return
    others = select(User.id).where(User.role == Role.ADMIN, User.office.is_(None), User.active.is_(True),
                                   User.id != target.id)
    locked = list(db.session.scalars(others.order_by(User.id).with_for_update()))
    if not locked:
        raise ManagementRefused(_("%(name)s is the last active head-office admin: make someone else one first.",
                                  name=target.name))


def _not_yourself(actor: User, target: User) -> None:
    if actor.id == target.id:
        raise ManagementRefused(_("You cannot change your own role, office or access. Ask another admin."))


def invite_staff(actor: User, name: str, role: Role, office: str | None, email: str | None = None,
                 mobile: str | None = None) -> User:
    """A new staff member, who chooses their first password through a one-time link sent to their email (or
    mobile). Until then no password works for the account."""
    if not role.is_staff:
        raise ManagementRefused(_("Choose a staff role."))
    user = User(name=name.strip(), email=normalise_email(email) if email else None,
                mobile=normalise_mobile(mobile) if mobile else None, role=role, office=office or None,
                password_hash=hash_password(secrets.token_urlsafe(32)), verified_at=utcnow())
    if not (user.email or user.mobile):
        raise ManagementRefused(_("Give a mobile number or an email address."))
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise ManagementRefused(_("This mobile number or email is already registered.")) from None
    audit.record("user.created", user, {"after": _state(user)}, actor=actor)
    send_first_password_link(actor, user)
    return user


def send_first_password_link(actor: User, user: User) -> None:
    """The link to choose a password (again, if the first one expired); any earlier link keeps working until
    one of them is used, which ends the others."""
    ttl = current_app.config["STAFF_INVITE_TTL"]
    link, expires_at = new_password_link(user, ttl)
    hours = int(ttl.total_seconds() // 3600)
    with force_locale(user.locale):
        queue_message(
            to=user.email or user.mobile,
            subject=_("Your %(utility)s staff account", utility=current_app.config["UTILITY_NAME"]),
            body=_("%(name)s, an account was made for you. Open this link within %(hours)d hours to choose your "
                   "password: %(link)s", name=user.name, hours=hours, link=link),
            expires_at=expires_at, kind=MessageKind.STAFF_INVITE, params={"link": link, "hours": str(hours)},
        )
    audit.record("user.password_link_sent", user, {"expires_at": expires_at.isoformat()}, actor=actor)


def change_role_and_office(actor: User, user: User, role: Role, office: str | None) -> bool:
    """Whether anything changed."""
    if not (user.is_staff and role.is_staff):
        raise ManagementRefused(_("Only staff have a role and an office here."))
    office = office or None
    if (role, office) == (user.role, user.office):
        return False
    _not_yourself(actor, user)
    if role is not Role.ADMIN or office is not None:
        _keep_one_head_office_admin(user)
    before = _state(user)
    user.role, user.office = role, office
    audit.record("user.role_changed", user, {"before": before, "after": _state(user)}, actor=actor)
    return True


def set_active(actor: User, user: User, active: bool) -> bool:
    """Switch a staff member off or on, or lock or unlock a customer. Switching off ends every session at once.
    Whether anything changed."""
    if user.active == active:
        return False
    if user.erased_at is not None:
        raise ManagementRefused(_("This account was erased at its owner's request."))
    _not_yourself(actor, user)
    if not active:
        _keep_one_head_office_admin(user)
    before = _state(user)
    user.active = active
    if not active:
        user.session_version += 1  # their open sessions end now
    action = ("user.reactivated" if active else "user.deactivated") if user.is_staff else \
        ("user.unlocked" if active else "user.locked")
    audit.record(action, user, {"before": before, "after": _state(user)}, actor=actor)
    return True

