from datetime import datetime, time
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, enum_type, utcnow
from app.extensions import db


class Role(StrEnum):
    """Staff rights grow support → billing → admin: support looks everything up, enters and reviews readings
    and answers complaints; billing (the billing officer) also runs tariffs, bill runs and proposes corrections;
    admin does everything, approves and manages users."""

    CUSTOMER = "customer"
    SUPPORT = "support"
    BILLING = "billing"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("mobile IS NOT NULL OR email IS NOT NULL", name="has_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    mobile: Mapped[str | None] = mapped_column(String(13), unique=True)  # +91 and ten digits
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.CUSTOMER, index=True)
    locale: Mapped[str] = mapped_column(String(10), default="en_IN")
    # Staff: the office (an accounts.region) whose connections they see and act on; None is head office (all).
    office: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie: bumping it signs the user out everywhere (password change, logout).
    session_version: Mapped[int] = mapped_column(default=1)
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the customer proved, with a one-time code, that they hold their mobile number (or email, if they gave
    # only that). Until then they may do nothing but verify (access.py). Staff are verified when created.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class PasswordResetToken(db.Model):
    """A single-use reset link; only a hash of the token is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThrottleCounter(db.Model):
    """Attempts (sign-in, codes, linking, resets) under a hashed key such as an account or an IP, in the window
    that began at `window_start` (app.auth.throttle)."""

    __tablename__ = "throttle_counters"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OneTimeCode(db.Model):
    """A six-digit code sent to a mobile number (or an email) to prove the person holds it (codes.py). Only an
    HMAC of the code is stored; it works once, until expires_at, for a few attempts, and only for its user."""

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_lookup", "user_id", "purpose", "subject", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))  # what it proves: "verify" (the user's contact), "link" …
    subject: Mapped[str] = mapped_column(String(40))  # what it is for: a connection's id, the contact's kind
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)  # wrong codes typed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # used, or replaced by a newer code


class SignIn(db.Model):
    """One successful sign-in, for the person and staff to see where an account was used (sign_ins.py). Only
    the network (an IPv4 /24 or IPv6 /48, never the full address) and a browser-and-system summary are kept,
    for SIGN_IN_HISTORY_DAYS; an erased user's go with their data."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    network: Mapped[str | None] = mapped_column(String(45))  # "203.0.113.0/24"
    device: Mapped[str] = mapped_column(String(80))  # "Chrome on Android"


class PendingSignUp(db.Model):
    """A sign-up waiting for the code sent to its mobile number (services.start_sign_up). The account is made only
    when the code is typed, so the form answers the same whether or not the number is registered. The task that
    sends the code looks the number up: a registered one gets a warning instead, and no code (code_hash stays
    empty, so no code can complete it). Rows are removed PENDING_SIGN_UP_DAYS after they expire."""

    __tablename__ = "pending_sign_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(13), index=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="en_IN")
    privacy_version: Mapped[str] = mapped_column(String(20))  # the notice the person agreed to on the form
    code_hash: Mapped[str | None] = mapped_column(String(64))  # HMAC of the code sent (codes.py); None: none sent
    attempts: Mapped[int] = mapped_column(default=0)  # wrong codes typed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the last time a code was asked for
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PrivacyConsent(db.Model):
    """A customer's acceptance of one version of the privacy notice (app/auth/privacy.py), kept as the proof of
    consent the DPDP Act 2023 asks for (section 6(10)); it holds no personal data beyond whose it is."""

    __tablename__ = "privacy_consents"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
