from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.maker_checker import ApprovalState
from app.db import Money, Units, UTCDateTime, enum_type, refuse_changes, utcnow
from app.extensions import db


class Tariff(db.Model):
    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    utility: Mapped[str] = mapped_column(String(20), default="electricity")
    unit: Mapped[str] = mapped_column(String(10), default="kWh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_WAITING = text("state = 'pending'")
_NOT_REJECTED = text("state != 'rejected'")


class TariffVersion(db.Model):
    """One `dtech-tariff/1` document as imported; bills keep pointing at the version they used.

    A version imported by staff waits (`pending`) until a second billing officer or administrator approves it;
    only approved versions are in force (quoted, billed, listed as current). A rejected one stays, for the record,
    and no longer holds its start date."""

    __tablename__ = "tariff_versions"
    __table_args__ = (
        Index("uq_tariff_versions_tariff_from", "tariff_id", "effective_from", unique=True,
              sqlite_where=_NOT_REJECTED, postgresql_where=_NOT_REJECTED),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id != imported_by_id", name="second_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    document: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # proposer
    state: Mapped[ApprovalState] = mapped_column(enum_type(ApprovalState), default=ApprovalState.APPROVED)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))

    tariff = relationship("Tariff")

    @classmethod
    def in_force(cls):
        """The condition for a version that quotes and bill runs may use: an approved one."""
        return cls.state == ApprovalState.APPROVED


class TariffParam(db.Model):
    """A monthly parameter of a tariff, such as the fuel adjustment rate for one month."""

    __tablename__ = "tariff_params"
    __table_args__ = (UniqueConstraint("tariff_id", "month", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"))
    month: Mapped[date]  # the first day of the month
    name: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 6))


class BillStatus(StrEnum):
    """What a bill asks of the customer now (worked out, not stored: see bills.bill_status)."""
    PAID = "paid"
    DUE = "due"
    OVERDUE = "overdue"
    CARRIED = "carried"  # its unpaid amount moved onto the next bill
    CLEARING = "clearing"  # settled only by a cheque or draft the bank has not cleared yet
    CANCELLED = "cancelled"  # withdrawn by a credit note: it asks nothing, and was not paid


class BillRunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"  # stopped by an error; the bills it wrote stand
    INTERRUPTED = "interrupted"  # killed (no heartbeat); the next run of its cycle bills the rest


_RELEASED_ONLY_IF_HELD = "released_at IS NULL OR hold"


class BillRun(db.Model):
    """A run of one cycle (and region). A run started with `hold` writes its bills but withholds them from customers
    (no ledger entry, no notice, not shown) until a billing officer or administrator releases it: `released_at` is
    set once, by a conditional UPDATE (see runs.release_run)."""

    __tablename__ = "bill_runs"
    __table_args__ = (
        Index("ix_bill_runs_cycle_region", "cycle", "region"),
        CheckConstraint(_RELEASED_ONLY_IF_HELD, name="released_only_if_held"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    region: Mapped[str] = mapped_column(String(40), default="")  # "" = every region
    status: Mapped[BillRunStatus] = mapped_column(enum_type(BillRunStatus, length=12),
                                                  default=BillRunStatus.RUNNING)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_on: Mapped[date | None]  # the bills' issue date, fixed when the run starts (every chunk uses it)
    hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def withheld(self) -> bool:
        """Its bills are not yet the customers' (held, not released)."""
        return self.hold and self.released_at is None

    @classmethod
    def withholding(cls):
        """The condition for a run whose bills are withheld (the SQL twin of `withheld`)."""
        return and_(cls.hold.is_(True), cls.released_at.is_(None))


class BillRunChunk(db.Model):
    """One slice of a run's connections (by id range) that one task bills (PostgreSQL: several consumers at once).
    `done_at` is set in the transaction that wrote the slice's bills; the run ends when no slice is left."""

    __tablename__ = "bill_run_chunks"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bill_runs.id"))
    seq: Mapped[int]
    first_account_id: Mapped[int]
    last_account_id: Mapped[int]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BillRunError(db.Model):
    """An account a run could not bill, with the reason, so staff can fix it and run again."""

    __tablename__ = "bill_run_errors"
    __table_args__ = (UniqueConstraint("run_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bill_runs.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)  # in English; shown only for rows kept before codes (no code)
    code: Mapped[str | None] = mapped_column(String(40))  # compose.NOT_BILLED or consumption.PROBLEMS
    params: Mapped[dict | None] = mapped_column(JSON)  # the code's text's parameters (days as ISO text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Bill(db.Model):
    """An issued bill. Never edited: a mistake is cancelled by a credit note and a revision is issued."""

    __tablename__ = "bills"
    # One bill per account and cycle (and per period); a revision of it gets the next revision number.
    __table_args__ = (
        UniqueConstraint("account_id", "cycle", "revision"),
        UniqueConstraint("account_id", "period_start", "revision"),
        Index("ix_bills_cycle", "cycle"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    cycle: Mapped[str] = mapped_column(String(7))  # YYYY-MM of the bill run that issued it
    period_start: Mapped[date]
    period_end: Mapped[date]
    revision: Mapped[int] = mapped_column(default=0)
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    bill_run_id: Mapped[int | None] = mapped_column(ForeignKey("bill_runs.id"), index=True)
    tariff_version_id: Mapped[int] = mapped_column(ForeignKey("tariff_versions.id"))
    issued_on: Mapped[date]
    due_date: Mapped[date] = mapped_column(index=True)
    units: Mapped[Decimal] = mapped_column(Units)
    estimated: Mapped[bool] = mapped_column(default=False)
    # Units that estimates charged beyond what the meter then recorded (≤ 0), taken off the next bills.
    carried_units: Mapped[Decimal] = mapped_column(Units, default=Decimal(0))
    opening_reading_id: Mapped[int | None] = mapped_column(ForeignKey("readings.id"))
    closing_reading_id: Mapped[int | None] = mapped_column(ForeignKey("readings.id"))
    current_charges: Mapped[Decimal] = mapped_column(Money)
    previous_balance: Mapped[Decimal] = mapped_column(Money)
    payments_since: Mapped[Decimal] = mapped_column(Money)
    late_fee: Mapped[Decimal] = mapped_column(Money)
    total_due: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded when asked for: only a bill's own page and PDF show its lines, lists of bills never do.
    lines = relationship("BillLine", order_by="BillLine.position", lazy="select")


class BillLine(db.Model):
    __tablename__ = "bill_lines"
    __table_args__ = (UniqueConstraint("bill_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"))
    position: Mapped[int]
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money)
    details: Mapped[list] = mapped_column(JSON, default=list)  # slab rows: quantity × rate = amount, slab range


class LedgerKind(StrEnum):
    BILL = "bill"
    PAYMENT = "payment"
    ADJUSTMENT = "adjustment"
    REBATE = "rebate"
    LATE_FEE = "late_fee"
    REFUND = "refund"
    CREDIT_NOTE = "credit_note"
    REVERSAL = "reversal"  # undoes another entry, e.g. a bounced cheque
    DEBIT_NOTE = "debit_note"  # a manual charge with a reason (a CREDIT_NOTE without a bill is its opposite)


class LedgerEntry(db.Model):
    """An immutable money movement on an account. Positive: the customer owes more; negative: less.

    The balance is the sum of the entries, never a stored counter.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_account_posted", "account_id", "posted_at"),
        # What an account paid between two days (reports' on-time figures, per bill): its few payment entries, not
        # every entry of its history (bench/scale.py).
        Index("ix_ledger_entries_account_kind_effective", "account_id", "kind", "effective_on"),
        UniqueConstraint("kind", "bill_id"),  # a bill is posted once, and credited once
        UniqueConstraint("kind", "payment_id"),  # a payment is posted once
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[LedgerKind] = mapped_column(enum_type(LedgerKind))
    amount: Mapped[Decimal] = mapped_column(Money)
    effective_on: Mapped[date]
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CorrectionAction(StrEnum):
    CANCEL = "cancel"  # a bill cancelled by a credit note
    REVISE = "revise"  # the latest bill replaced by a revision priced from today's data
    DEBIT_NOTE = "debit_note"  # a manual charge on the account
    CREDIT_NOTE = "credit_note"  # a manual credit to the account


class BillCorrection(db.Model):
    """A correction of a bill or of the account's balance, proposed by a billing officer or an administrator
    (maker) and made only when another administrator approves it (checker, never the proposer: a check
    constraint). It is made once: the row leaves `pending` by a conditional update, and the ledger entry and
    revised bill it made are unique to it. It keeps the reason the customer is shown."""

    __tablename__ = "bill_corrections"
    __table_args__ = (
        CheckConstraint("decided_by_id IS NULL OR decided_by_id != proposed_by_id", name="second_person"),
        CheckConstraint("amount IS NULL OR amount > 0", name="positive_amount"),
        Index("ix_bill_corrections_state_proposed", "state", "proposed_at"),
        # One correction waits per bill at a time (a cancellation and a revision of one bill cannot both stand).
        Index("uq_bill_corrections_waiting", "bill_id", unique=True, sqlite_where=_WAITING,
              postgresql_where=_WAITING),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[CorrectionAction] = mapped_column(enum_type(CorrectionAction))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"))  # the bill cancelled or revised
    amount: Mapped[Decimal | None] = mapped_column(Money)  # a note's amount; what a cancellation credits
    reason: Mapped[str] = mapped_column(String(200))
    state: Mapped[ApprovalState] = mapped_column(enum_type(ApprovalState), default=ApprovalState.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)  # the proposing form's
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    revised_bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id"), unique=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # before and after, for the record


refuse_changes(Bill, BillLine, LedgerEntry)
