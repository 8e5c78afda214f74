"""What a bill says, as plain values: the one source for the bill page and the PDF.

Built from the database by `build_statement()` (billing.bills); rendered by templates and billing.pdf.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class SlabRow:
    quantity: Decimal  # units (or kW, or 1 for a connection) charged at this rate
    rate: Decimal
    amount: Decimal  # exact quantity × rate; the line amount is rounded once
    # The slab's range of units: above `above`, up to `upto` (None: no upper end). `above` None: no range
    # (a flat charge, or a bill issued before bills kept it).
    above: Decimal | None = None
    upto: Decimal | None = None


@dataclass(frozen=True)
class StatementLine:
    code: str  # energy, fixed, duty, subsidy, rounding …
    label: str  # as the tariff words it (English)
    amount: Decimal
    rows: tuple[SlabRow, ...] = ()


@dataclass(frozen=True)
class MeterRead:
    """One meter's readings over the period; an estimated bill has the previous (actual) reading it estimated
    from, and no current one."""

    meter_serial: str
    previous_date: date | None
    previous_value: Decimal | None
    current_date: date | None
    current_value: Decimal | None
    multiplying_factor: Decimal = Decimal("1")


@dataclass(frozen=True)
class UsagePoint:
    label: str  # "Oct 26"
    units: Decimal
    period_end: date | None = None  # when given, the PDF names the month in its own language


@dataclass(frozen=True)
class Statement:
    utility_name: str
    bill_number: str
    issued_on: date
    due_date: date
    period_start: date
    period_end: date
    consumer_number: str
    holder_name: str
    address: str
    category: str
    tariff_name: str
    sanctioned_load_kw: Decimal
    units: Decimal
    estimated: bool
    reads: tuple[MeterRead, ...]
    lines: tuple[StatementLine, ...]
    current_charges: Decimal
    previous_balance: Decimal
    payments_since: Decimal  # positive: money received since the last bill
    arrears: Decimal  # previous balance less payments since (negative: in credit)
    late_fee: Decimal
    total_due: Decimal
    prompt_rebate: Decimal  # saved if paid by prompt_by; 0 when the tariff offers none
    prompt_by: date | None
    upi_uri: str  # upi://pay?… for pay_amount, for the QR code ("" when the bill asks for nothing)
    history: tuple[UsagePoint, ...] = field(default=())  # up to six periods, oldest first, this one last
    revision: int = 0
    cancelled: bool = False
    # What the meter recorded over the reads shown, when it differs from `units` (earlier estimates settled).
    recorded_units: Decimal | None = None
    # Whether this bill still asks for money (the latest bill standing, with something owed), and how much.
    payable: bool = True
    pay_amount: Decimal | None = None
    # What paying after the due date costs: the amount due and the tariff's late payment surcharge on it for the
    # first month late. None when the tariff charges none, or the bill asks for nothing.
    after_due_amount: Decimal | None = None
