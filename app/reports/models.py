"""The report summaries: one row per month, region and category (billing) or channel (collections). They hold
only what can be computed again from bills and the ledger; summaries.py rebuilds a month at a time."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Units, UTCDateTime, utcnow
from app.extensions import db

Total = Numeric(16, 2, asdecimal=True)  # a region's month: beyond Money's ₹99,99,99,999.99


class MonthlyBilling(db.Model):
    """Bills of one billing month (the bill's cycle) for a region and tariff category, and the bills falling due
    that month (by due date) with how many were paid in full by then."""

    __tablename__ = "report_monthly_billing"
    __table_args__ = (UniqueConstraint("month", "region", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # the first day of the month
    region: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(60))
    bills: Mapped[int] = mapped_column(default=0)
    estimated_bills: Mapped[int] = mapped_column(default=0)
    units: Mapped[Decimal] = mapped_column(Units, default=Decimal(0))
    billed: Mapped[Decimal] = mapped_column(Total, default=Decimal(0))
    bills_due: Mapped[int] = mapped_column(default=0)
    paid_on_time: Mapped[int] = mapped_column(default=0)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MonthlyCollection(db.Model):
    """Money received in one month (by the ledger's effective date) in a region through one payment channel, net
    of cheques and drafts that bounced."""

    __tablename__ = "report_monthly_collection"
    __table_args__ = (UniqueConstraint("month", "region", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    region: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))  # a PaymentMethod value
    payments: Mapped[int] = mapped_column(default=0)
    collected: Mapped[Decimal] = mapped_column(Total, default=Decimal(0))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
