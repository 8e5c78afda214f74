"""The privacy notice and customers' consent to it (DPDP Act 2023). The notice has a version
(PRIVACY_NOTICE_VERSION); a customer agrees to the current one when signing up, and a customer whose latest
consent is to an older version is sent to accept the new one before any other page (access.enforce_access).
The version accepted is remembered in the session, so a signed-in customer costs one query per session, not per
request."""

from datetime import datetime

from flask import current_app, has_request_context, session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import PrivacyConsent, User
from app.db import utcnow
from app.extensions import db

SESSION_KEY = "privacy_version"


def current_version() -> str:
    return current_app.config["PRIVACY_NOTICE_VERSION"]


def record_consent(user: User, version: str | None = None, accepted_at: datetime | None = None) -> None:
    """The user accepted this version (the current one by default); accepting twice keeps the first time."""
    version = version or current_version()
    try:
        with db.session.begin_nested():
            db.session.add(PrivacyConsent(user_id=user.id, version=version, accepted_at=accepted_at or utcnow()))
    except IntegrityError:
        pass  # already accepted, perhaps in another tab
    if version == current_version() and has_request_context():
        session[SESSION_KEY] = version


def has_accepted_current(user: User) -> bool:
    version = current_version()
    if session.get(SESSION_KEY) == version:
        return True
    accepted = db.session.scalar(select(PrivacyConsent.id).where(PrivacyConsent.user_id == user.id,
                                                                 PrivacyConsent.version == version)) is not None
    if accepted:
        session[SESSION_KEY] = version
    return accepted


def consents_of(user_id: int) -> list[PrivacyConsent]:
    return list(db.session.scalars(select(PrivacyConsent).where(PrivacyConsent.user_id == user_id)
                                   .order_by(PrivacyConsent.accepted_at)))
