from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import DDL, ForeignKey, Index, Numeric, String, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crypto import EncryptedText
from app.db import UTCDateTime, enum_type, utcnow
from app.extensions import db


class BillingCycle(StrEnum):
    MONTHLY = "monthly"
    BIMONTHLY = "bimonthly"


class Phase(StrEnum):
    SINGLE = "single"
    THREE = "three"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class Account(db.Model):
    """A service connection, known to the customer by its consumer number."""

    __tablename__ = "accounts"
    # Staff find a holder by any part of the name: a trigram index on PostgreSQL (a plain one on SQLite).
    __table_args__ = (Index("ix_accounts_holder_name", "holder_name", postgresql_using="gin",
                            postgresql_ops={"holder_name": "gin_trgm_ops"}),
                      # Staff search by the start of a number: LIKE '1700%' needs text_pattern_ops on PostgreSQL.
                      Index("ix_accounts_consumer_number_prefix", "consumer_number",
                            postgresql_ops={"consumer_number": "text_pattern_ops"}))

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_number: Mapped[str] = mapped_column(String(20), unique=True)
    holder_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(EncryptedText)  # never searched: encrypted at rest (app/crypto/)
    region: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(60))
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("tariffs.id"), index=True)
    sanctioned_load_kw: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    phase: Mapped[Phase] = mapped_column(enum_type(Phase), default=Phase.SINGLE)
    billing_cycle: Mapped[BillingCycle] = mapped_column(enum_type(BillingCycle), index=True)
    # Bimonthly connections are billed in alternate months: 0 = even months, 1 = odd months.
    cycle_offset: Mapped[int] = mapped_column(default=0)
    registered_mobile: Mapped[str | None] = mapped_column(String(13), index=True)
    subsidy_opted: Mapped[bool] = mapped_column(default=False)
    bpl: Mapped[bool] = mapped_column(default=False)
    paperless: Mapped[bool] = mapped_column(default=False)
    status: Mapped[AccountStatus] = mapped_column(enum_type(AccountStatus), default=AccountStatus.ACTIVE)
    connected_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tariff = relationship("Tariff")

    @property
    def flags(self) -> frozenset[str]:
        """The consumer flags a tariff's `when.flag` can test."""
        names = {"subsidy_opted": self.subsidy_opted, "bpl": self.bpl, "paperless": self.paperless}
        return frozenset(name for name, on in names.items() if on)


# The trigram index needs its extension (the migration creates it too; this is for create_all).
event.listen(Account.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


class LinkFactor(StrEnum):
    """How a link was proven (links made before one-time codes: the factor as typed then)."""

    BILL_AMOUNT = "bill_amount"  # the latest bill's amount, then a staff approval (no registered mobile)
    MOBILE = "mobile"  # a one-time code sent to the connection's registered mobile number
    STAFF = "staff"  # made by staff (demo seed, office)


class AccountLink(db.Model):
    """A user may see and pay for a connection; many users per connection and connections per user."""

    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    nickname: Mapped[str | None] = mapped_column(String(40))
    linked_by: Mapped[LinkFactor] = mapped_column(enum_type(LinkFactor))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account = relationship("Account", lazy="joined")


class LinkRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


PENDING_ONLY = text("status = 'pending'")


class LinkRequest(db.Model):
    """A customer asks to link a connection that has no registered mobile number: they gave its latest bill's
    amount (which matched), and staff approve or reject. No access to the connection until approved."""

    __tablename__ = "link_requests"
    __table_args__ = (Index("uq_link_requests_pending", "user_id", "account_id", unique=True,
                            sqlite_where=PENDING_ONLY, postgresql_where=PENDING_ONLY),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    bill_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[LinkRequestStatus] = mapped_column(enum_type(LinkRequestStatus), default=LinkRequestStatus.PENDING,
                                                      index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account = relationship("Account", lazy="joined")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class ConnectionChange(db.Model):
    """One change to a connection's terms (load, category and tariff, holder's name, registered mobile), dated
    from the day it takes effect, with what it was before: the connection's page shows this history."""

    __tablename__ = "connection_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(String(200))
    after: Mapped[str | None] = mapped_column(String(200))
    effective_on: Mapped[date]
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
