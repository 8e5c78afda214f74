"""One connection's bill for one cycle, from plain facts: the heart of a bill run. Pure: no Flask, no database.

A period runs from the day after the previous bill's period to the closing reading (or, with no reading,
the scheduled reading day). Units come from the meter, settled against earlier estimates, or are estimated.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.billing import tariff as engine
from app.billing.estimation import NoBasisForEstimate, PastPeriod, estimate_units, settle_units
from app.i18n import N_
from app.metering.consumption import ConsumptionError, RegisterRead, plain, register_advance

PAISA = Decimal("0.01")
DEFAULT_READ_DAY = 5


# Why a connection cannot be billed, by code: a run keeps the code and parameters, and its page says it in the
# reader's language (explained()); the English text is the exception's (logs, the command line).
NOT_BILLED = {
    "period_backwards": N_("the period would end (%(end_on)s) before it starts (%(start_on)s)"),
    "period_after_issue": N_("the period ends on %(end_on)s, after the issue date %(issued_on)s: bill it later"),
    "no_estimate_basis": N_("no reading this period and no past consumption to estimate from"),
    "anchor_gone": N_("the reading a previous bill ended on (#%(reading)s) is no longer accepted"),
    "no_opening_reading": N_("no opening reading before this cycle: record the connection's first reading"),
    "no_tariff": N_("the connection has no tariff"),
    "no_version": N_("no tariff version in force for the whole period %(first_on)s–%(last_on)s: %(detail)s"),
    "cannot_price": N_("the tariff could not price this bill: %(detail)s"),
}


class CannotBill(ValueError):
    """Why this connection cannot be billed this cycle (recorded in the run's error list)."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, plain(params)
        super().__init__(NOT_BILLED[code] % self.params if params else NOT_BILLED[code])


@dataclass(frozen=True)
class Cycle:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Cycle":
        try:
            year, month = (int(part) for part in text.split("-"))
            date(year, month, 1)
        except ValueError:
            raise ValueError(f"a cycle is written YYYY-MM, not {text!r}") from None
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def day(self, day_of_month: int) -> date:
        return date(self.year, self.month, min(day_of_month, self.last_day.day))

    def shifted(self, months: int) -> "Cycle":
        year, month = divmod(self.year * 12 + self.month - 1 + months, 12)
        return Cycle(year, month + 1)


@dataclass(frozen=True)
class PriorBill:
    cycle: str
    period_start: date
    period_end: date
    units: Decimal
    estimated: bool
    carried_units: Decimal
    opening_reading_id: int | None
    closing_reading_id: int | None
    issued_on: date
    due_date: date
    current_charges: Decimal
    total_due: Decimal

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


@dataclass(frozen=True)
class TariffVersionFacts:
    version_id: int
    tariff: engine.Tariff


@dataclass(frozen=True)
class BillingInputs:
    cycle: Cycle
    issued_on: date
    versions: Sequence[TariffVersionFacts]
    params: dict[str, Decimal]
    load_kw: Decimal
    phase: str
    flags: frozenset[str]
    prior: Sequence[PriorBill]  # this connection's bills in force, oldest first
    reads: Sequence[RegisterRead]  # accepted, actual reads (not estimates), oldest first
    balance: Decimal  # the ledger's balance before this bill
    paid_by_previous_due_date: Decimal  # credits between the previous bill's issue and due dates
    # A run's memo of quotes: connections with the same tariff, period, units and load get the same lines,
    # so the engine prices each distinct case once (units are whole numbers on most bills).
    quotes: dict | None = field(default=None, compare=False)
    connected_on: date | None = None  # when the connection started: its installation reading may open its first bill


@dataclass(frozen=True)
class ComposedLine:
    code: str
    label: str
    amount: Decimal
    details: list[dict]


@dataclass(frozen=True)
class ComposedBill:
    period_start: date
    period_end: date
    units: Decimal
    estimated: bool
    carried_units: Decimal
    opening_reading_id: int | None
    closing_reading_id: int | None
    tariff_version_id: int
    lines: list[ComposedLine]
    current_charges: Decimal
    previous_balance: Decimal
    payments_since: Decimal
    late_fee: Decimal
    total_due: Decimal
    due_date: date


def compose_bill(inp: BillingInputs) -> ComposedBill:
    prev = inp.prior[-1] if inp.prior else None
    anchor = _anchor_read(inp, prev)
    closing = _closing_read(inp, prev, anchor)
    period_start = prev.period_end + timedelta(days=1) if prev else _first_period_start(inp, anchor)
    period_end = closing.read_on if closing else inp.cycle.day(prev.period_end.day if prev else DEFAULT_READ_DAY)
    if period_end < period_start:
        raise CannotBill("period_backwards", end_on=period_end, start_on=period_start)
    if period_end > inp.issued_on:
        raise CannotBill("period_after_issue", end_on=period_end, issued_on=inp.issued_on)
    days = (period_end - period_start).days + 1

    carried = prev.carried_units if prev else Decimal(0)
    if closing:
        advance = register_advance([r for r in inp.reads if _between(r, anchor, closing)])
        units, carried = settle_units(advance, carried, _trailing_estimated_units(inp.prior))
    else:
        try:
            units = estimate_units(days, _recent_actual(inp), _same_period_last_year(inp))
        except NoBasisForEstimate:
            raise CannotBill("no_estimate_basis") from None

    parts = _tariff_parts(inp, period_start, period_end)
    lines, current = _priced_lines(inp, parts, units)
    late_fee = _late_fee(inp, prev, parts[-1].tariff.payment_terms)
    previous_balance = prev.total_due if prev else Decimal("0.00")
    return ComposedBill(
        period_start=period_start,
        period_end=period_end,
        units=units,
        estimated=closing is None,
        carried_units=carried,
        opening_reading_id=anchor.order,
        closing_reading_id=closing.order if closing else None,
        tariff_version_id=parts[-1].version_id,
        lines=lines,
        current_charges=current,
        previous_balance=previous_balance,
        payments_since=previous_balance - inp.balance,
        late_fee=late_fee,
        total_due=inp.balance + current + late_fee,
        due_date=inp.issued_on + timedelta(days=parts[-1].tariff.payment_terms.due_days),
    )


def _anchor_read(inp: BillingInputs, prev: PriorBill | None) -> RegisterRead:
    """The reading the meter's advance is counted from: the last actual bill's closing reading, or for a
    first bill the last reading before this cycle."""
    if prev is not None:
        anchor_id = prev.opening_reading_id if prev.estimated else prev.closing_reading_id
        for read in inp.reads:
            if read.order == anchor_id:
                return read
        raise CannotBill("anchor_gone", reading=anchor_id)
    before = [r for r in inp.reads if r.read_on < inp.cycle.first_day]
    if before:
        return before[-1]
    installation = _installation_read(inp)
    if installation is None:
        raise CannotBill("no_opening_reading")
    return installation


def _installation_read(inp: BillingInputs) -> RegisterRead | None:
    """For a connection that started during this cycle, the meter's first reading (taken at installation), if
    a later reading in the cycle closes the period: the units between them are this first bill's."""
    if inp.connected_on is None or inp.connected_on < inp.cycle.first_day:
        return None  # an older connection without an earlier reading: its history is missing, not new
    in_cycle = [r for r in inp.reads if inp.cycle.first_day <= r.read_on <= inp.cycle.last_day]
    return in_cycle[0] if len(in_cycle) > 1 else None


def _first_period_start(inp: BillingInputs, anchor: RegisterRead) -> date:
    """A first bill runs from the day after the reading before the cycle, or from the installation reading's
    day for a connection that started in the cycle (that day's use is after the reading)."""
    return anchor.read_on if anchor.read_on >= inp.cycle.first_day else anchor.read_on + timedelta(days=1)


def _closing_read(inp: BillingInputs, prev: PriorBill | None, anchor: RegisterRead) -> RegisterRead | None:
    after = prev.period_end if prev else inp.cycle.first_day - timedelta(days=1)
    in_cycle = [r for r in inp.reads if after < r.read_on <= inp.cycle.last_day and r.read_on >= inp.cycle.first_day
                and (r.read_on, r.order) > (anchor.read_on, anchor.order)]
    return in_cycle[-1] if in_cycle else None


def _between(read: RegisterRead, first: RegisterRead, last: RegisterRead) -> bool:
    return (first.read_on, first.order) <= (read.read_on, read.order) <= (last.read_on, last.order)


def _trailing_estimated_units(prior: Sequence[PriorBill]) -> Decimal:
    total = Decimal(0)
    for bill in reversed(prior):
        if not bill.estimated:
            break
        total += bill.units
    return total


def _metered(bill: PriorBill, reads: Sequence[RegisterRead]) -> PastPeriod | None:
    """What the meter recorded over an actual bill's readings, and over how many days. An actual bill after
    estimates spans their periods too, so this is real use per day, not the units that bill happened to charge."""
    by_id = {read.order: read for read in reads}
    first, last = by_id.get(bill.opening_reading_id), by_id.get(bill.closing_reading_id)
    if bill.estimated or first is None or last is None or last.read_on <= first.read_on:
        return None
    try:
        return PastPeriod(register_advance([r for r in reads if _between(r, first, last)]),
                          (last.read_on - first.read_on).days)
    except ConsumptionError:
        return None


def _recent_actual(inp: BillingInputs) -> list[PastPeriod]:
    metered = (_metered(bill, inp.reads) for bill in inp.prior if not bill.estimated)
    return [period for period in metered if period is not None]


def _same_period_last_year(inp: BillingInputs) -> PastPeriod | None:
    last_year = str(inp.cycle.shifted(-12))
    for bill in inp.prior:
        if bill.cycle == last_year:
            return _metered(bill, inp.reads)
    return None


def _tariff_parts(inp: BillingInputs, first: date, last: date) -> list[TariffVersionFacts]:
    if not inp.versions:
        raise CannotBill("no_tariff")
    try:
        parts = engine.split_period([v.tariff for v in inp.versions], first, last)
    except engine.TariffError as error:
        raise CannotBill("no_version", first_on=first, last_on=last, detail=str(error)[:500]) from None
    by_tariff = {id(v.tariff): v for v in inp.versions}
    return [_PartFacts(by_tariff[id(tariff)].version_id, tariff, start, end) for tariff, start, end in parts]


@dataclass(frozen=True)
class _PartFacts(TariffVersionFacts):
    first: date
    last: date


def _priced_lines(inp: BillingInputs, parts: list["_PartFacts"], units: Decimal) -> tuple[list[ComposedLine],
                                                                                          Decimal]:
    """The bill's lines (with their slab rows as stored) and their total, from the tariff engine."""
    known = set().union(*(p.tariff.param_names for p in parts))
    params = {name: value for name, value in inp.params.items() if name in known}
    key = (tuple((id(p.tariff), p.first, p.last) for p in parts), units, inp.load_kw, inp.phase, inp.flags,
           frozenset(params.items()))
    if inp.quotes is not None and key in inp.quotes:
        return inp.quotes[key]
    try:
        quote = engine.quote_split([(p.tariff, p.first, p.last) for p in parts], units, load_kw=inp.load_kw,
                                   phase=inp.phase, flags=inp.flags, params=params)
    except engine.TariffError as error:
        raise CannotBill("cannot_price", detail=str(error)[:500]) from None
    priced = ([ComposedLine(line.code, line.label, line.amount, [_detail_row(d) for d in line.details])
               for line in quote.lines], quote.total)
    if inp.quotes is not None:
        inp.quotes[key] = priced
    return priced


def _detail_row(detail: engine.Detail) -> dict:
    """A slab row as the bill keeps it: units split by days between tariff versions have long fractions, which
    are kept to 3 places (units) and 4 (money); the line's amount was computed exactly, then rounded once."""
    def tidy(value: Decimal, places: str) -> str:
        return str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP).normalize() + 0)

    row = {"quantity": tidy(detail.quantity, "0.001"), "rate": str(detail.rate),
           "amount": tidy(detail.amount, "0.0001")}
    if detail.lower is not None:  # the slab's range, so the bill can say "101–300 units"
        row["above"] = tidy(detail.lower, "0.001")
        row["upto"] = None if detail.upper is None else tidy(detail.upper, "0.001")
    return row


def _late_fee(inp: BillingInputs, prev: PriorBill | None, terms: engine.PaymentTerms) -> Decimal:
    """The tariff's surcharge when the previous bill was not paid in full by its due date."""
    surcharge = terms.late_surcharge
    if prev is None or surcharge is None or prev.due_date >= inp.issued_on:
        return Decimal("0.00")
    unpaid = prev.total_due - inp.paid_by_previous_due_date
    months = max(1, -(-(inp.issued_on - prev.due_date).days // 30))  # each started month counts
    return surcharge.amount(unpaid, prev.current_charges, months)
